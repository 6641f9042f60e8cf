// One table of every layer: adding a layer adds one line and gets, in double, the input Jacobian
// three ways (finite differences, VJP-assembled, closed form), parameter and input gradients by
// finite differences on <y, dy>, the assign/accumulate contract and linearity in dy.
#include <gtest/gtest.h>

#include <functional>

#include "gradscope/init/initializer.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/batch_norm.hpp"
#include "gradscope/nn/dense.hpp"
#include "gradscope/nn/layer_norm.hpp"
#include "gradscope/nn/residual.hpp"
#include "gradscope/nn/sequential.hpp"
#include "gradscope/nn/weight_norm.hpp"
#include "support/gradient_check.hpp"

namespace gradscope {
namespace {

constexpr double kTolerance = 1e-6;

struct LayerCase {
  std::string name;
  Index in;
  std::function<std::unique_ptr<Layer<double>>(Rng&)> make;
};

std::unique_ptr<Layer<double>> dense(Index in, Index out, bool bias, Rng& rng) {
  auto layer = std::make_unique<Dense<double>>(in, out, bias);
  layer->weight() = rng.normal_matrix<double>(out, in, 0.7);
  if (bias) layer->bias() = rng.normal_matrix<double>(out, 1, 0.5);
  return layer;
}

std::unique_ptr<Layer<double>> activation(ActivationKind kind) {
  return std::make_unique<Activation<double>>(kind, 0.1);
}

std::unique_ptr<Layer<double>> mlp(ActivationKind kind, Rng& rng) {
  auto seq = std::make_unique<Sequential<double>>();
  seq->add(dense(4, 5, true, rng));
  seq->add(activation(kind));
  seq->add(dense(5, 3, true, rng));
  seq->add(activation(kind));
  seq->add(dense(3, 2, false, rng));
  return seq;
}

// Affine parameters away from their initial 1 and 0, so that wrong uses of them show.
std::unique_ptr<Layer<double>> layer_norm(Index features, bool affine, Rng& rng) {
  auto layer = std::make_unique<LayerNorm<double>>(features, 1e-5, affine);
  if (affine) {
    layer->weight() = rng.uniform_matrix<double>(features, 1, 0.5, 1.5);
    layer->bias() = rng.normal_matrix<double>(features, 1, 0.5);
  }
  return layer;
}

std::unique_ptr<BatchNorm<double>> batch_norm(Index features, bool affine, bool training,
                                              Rng& rng) {
  auto layer = std::make_unique<BatchNorm<double>>(features, 1e-5, 0.1, affine);
  if (affine) {
    layer->weight() = rng.uniform_matrix<double>(features, 1, 0.5, 1.5);
    layer->bias() = rng.normal_matrix<double>(features, 1, 0.5);
  }
  layer->set_running_mean(rng.normal_matrix<double>(features, 1, 0.5));
  layer->set_running_var(rng.uniform_matrix<double>(features, 1, 0.5, 2.0));
  layer->set_training(training);
  return layer;
}

std::unique_ptr<Layer<double>> weight_norm(Index in, Index out, bool bias, Rng& rng) {
  Dense<double> plain(in, out, bias);
  plain.weight() = rng.normal_matrix<double>(out, in, 0.7);
  if (bias) plain.bias() = rng.normal_matrix<double>(out, 1, 0.5);
  auto layer = std::make_unique<WeightNorm<double>>(plain);
  layer->weight_g() = rng.uniform_matrix<double>(out, 1, 0.5, 2.0);  // g no longer ||v||
  return layer;
}

// Branch of a residual block: Dense + act, or Dense + act + Dense, optionally normalised first.
Sequential<double> branch(Index in, Index out, ActivationKind kind, bool two_layers, bool norm,
                          Rng& rng) {
  Sequential<double> seq;
  if (norm) seq.add(layer_norm(in, true, rng));
  seq.add(dense(in, two_layers ? 5 : out, true, rng));
  seq.add(activation(kind));
  if (two_layers) seq.add(dense(5, out, true, rng));
  return seq;
}

ResidualOptions residual_options(ResidualVariant variant, double alpha, bool learnable,
                                 ActivationKind kind = ActivationKind::kTanh) {
  ResidualOptions options;
  options.variant = variant;
  options.alpha = alpha;
  options.learnable_alpha = learnable;
  options.activation = kind;
  options.negative_slope = 0.1;
  return options;
}

std::unique_ptr<Layer<double>> residual(ResidualOptions options, bool projection, bool norm,
                                        Rng& rng) {
  const Index in = 4;
  const Index out = projection ? 3 : 4;
  Sequential<double> body = branch(in, out, ActivationKind::kTanh, !projection, norm, rng);
  if (!projection) return std::make_unique<Residual<double>>(std::move(body), options);
  Dense<double> p(in, out, false);
  p.weight() = rng.normal_matrix<double>(out, in, 0.7);
  return std::make_unique<Residual<double>>(std::move(body), std::move(p), options);
}

// Dense, norms, activations and residual blocks in one Sequential (BatchNorm in eval mode: in
// training mode samples are not independent, see BatchNormTrain below).
std::unique_ptr<Layer<double>> mixed(Rng& rng) {
  auto seq = std::make_unique<Sequential<double>>();
  seq->add(dense(4, 5, true, rng));
  seq->add(layer_norm(5, true, rng));
  seq->add(activation(ActivationKind::kTanh));
  Sequential<double> body;
  body.add(batch_norm(5, true, false, rng));
  body.add(dense(5, 5, true, rng));
  body.add(activation(ActivationKind::kGelu));
  seq->add(std::make_unique<Residual<double>>(std::move(body), ResidualOptions::rezero()));
  seq->add(weight_norm(5, 3, true, rng));
  return seq;
}

std::vector<LayerCase> all_layers() {
  using enum ResidualVariant;
  std::vector<LayerCase> cases = {
      {"DenseWithBias", 4, [](Rng& rng) { return dense(4, 3, true, rng); }},
      {"DenseWithoutBias", 5, [](Rng& rng) { return dense(5, 2, false, rng); }},
      {"DenseSquare", 3, [](Rng& rng) { return dense(3, 3, true, rng); }},
      {"LayerNorm", 5, [](Rng& rng) { return layer_norm(5, true, rng); }},
      {"LayerNormNoAffine", 4, [](Rng& rng) { return layer_norm(4, false, rng); }},
      {"BatchNormEval", 4, [](Rng& rng) { return batch_norm(4, true, false, rng); }},
      {"BatchNormEvalNoAffine", 3, [](Rng& rng) { return batch_norm(3, false, false, rng); }},
      {"WeightNormWithBias", 4, [](Rng& rng) { return weight_norm(4, 3, true, rng); }},
      {"WeightNormWithoutBias", 3, [](Rng& rng) { return weight_norm(3, 5, false, rng); }},
      {"ResidualPre", 4,
       [](Rng& rng) {
         return residual(residual_options(kPreActivation, 0.7, false), false, false, rng);
       }},
      {"ResidualPreLearnableAlpha", 4,
       [](Rng& rng) {
         return residual(residual_options(kPreActivation, 0.5, true), false, false, rng);
       }},
      {"ResidualPreAlphaZero", 4,
       [](Rng& rng) {
         return residual(residual_options(kPreActivation, 0.0, false), false, false, rng);
       }},
      {"ResidualReZero", 4,
       [](Rng& rng) { return residual(ResidualOptions::rezero(), false, false, rng); }},
      {"ResidualPreProjection", 4,
       [](Rng& rng) {
         return residual(residual_options(kPreActivation, 0.8, true), true, false, rng);
       }},
      {"ResidualPreNormalisedBranch", 4,
       [](Rng& rng) {
         return residual(residual_options(kPreActivation, 1.0, false), false, true, rng);
       }},
      {"ResidualPostTanh", 4,
       [](Rng& rng) {
         return residual(residual_options(kPostActivation, 1.0, false), false, false, rng);
       }},
      {"ResidualPostRelu", 4,
       [](Rng& rng) {
         return residual(residual_options(kPostActivation, 0.9, false, ActivationKind::kRelu),
                         false, false, rng);
       }},
      {"ResidualPostSigmoidProjection", 4,
       [](Rng& rng) {
         return residual(residual_options(kPostActivation, 0.6, true, ActivationKind::kSigmoid),
                         true, false, rng);
       }},
      {"ResidualPostLeakyReluLearnableAlpha", 4,
       [](Rng& rng) {
         return residual(residual_options(kPostActivation, 0.4, true, ActivationKind::kLeakyRelu),
                         false, true, rng);
       }},
      {"ResidualPostAlphaZero", 4,
       [](Rng& rng) {
         return residual(residual_options(kPostActivation, 0.0, true), true, false, rng);
       }},
      {"SequentialMixed", 4, [](Rng& rng) { return mixed(rng); }},
  };
  for (ActivationKind kind :
       {ActivationKind::kIdentity, ActivationKind::kSigmoid, ActivationKind::kTanh,
        ActivationKind::kRelu, ActivationKind::kLeakyRelu, ActivationKind::kGelu}) {
    const std::string name(activation_name(kind));
    cases.push_back({"Activation_" + name, 5, [kind](Rng&) { return activation(kind); }});
    cases.push_back({"SequentialMlp_" + name, 4, [kind](Rng& rng) { return mlp(kind, rng); }});
  }
  return cases;
}

// Inputs away from ReLU's kink at 0, where finite differences straddle two slopes.
Matrix<double> input(Index rows, Index batch, Rng& rng) {
  Matrix<double> x = rng.normal_matrix<double>(rows, batch, 1.5);
  for (Index k = 0; k < x.size(); ++k) {
    if (std::abs(x(k)) < 0.05) x(k) += x(k) < 0 ? -0.1 : 0.1;
  }
  return x;
}

void PrintTo(const LayerCase& layer_case, std::ostream* out) { *out << layer_case.name; }

class LayerContract : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayerContract, GradientsJacobiansAndContract) {
  Rng rng(42);
  std::unique_ptr<Layer<double>> layer = GetParam().make(rng);
  const Matrix<double> x = input(GetParam().in, 3, rng);
  const testing::LayerCheck check = testing::check_layer(*layer, x, rng);
  EXPECT_LT(check.input_jacobian_vjp_vs_fd.error, kTolerance)
      << check.input_jacobian_vjp_vs_fd.where;
  EXPECT_LT(check.input_jacobian_closed_vs_fd.error, kTolerance)
      << check.input_jacobian_closed_vs_fd.where;
  EXPECT_LT(check.input_grad_vs_fd.error, kTolerance) << check.input_grad_vs_fd.where;
  EXPECT_LT(check.param_grad_vs_fd.error, kTolerance) << check.param_grad_vs_fd.where;
  EXPECT_LT(check.linear_in_dy.error, 1e-12) << check.linear_in_dy.where;
  EXPECT_TRUE(check.dx_assigned) << "dx must be assigned, not accumulated";
  EXPECT_TRUE(check.params_accumulate) << "parameter gradients must accumulate";
}

INSTANTIATE_TEST_SUITE_P(AllLayers, LayerContract, ::testing::ValuesIn(all_layers()),
                         [](const ::testing::TestParamInfo<LayerCase>& case_info) {
                           std::string name = case_info.param.name;
                           std::erase(name, '_');
                           return name;
                         });

// BatchNorm in training mode: a sample's output depends on the whole batch, so the Jacobians
// compared are those of vec(y) with respect to vec(x), batch_jacobian() as the closed form.
void expect_contract_on_batch(Layer<double>& layer, const Matrix<double>& x, Rng& rng) {
  const testing::LayerCheck check = testing::check_layer_on_batch(
      layer, x, rng, [](const Layer<double>& l, const Matrix<double>& batch) {
        return dynamic_cast<const BatchNorm<double>&>(l).batch_jacobian(batch);
      });
  EXPECT_LT(check.input_jacobian_vjp_vs_fd.error, kTolerance)
      << check.input_jacobian_vjp_vs_fd.where;
  EXPECT_LT(check.input_jacobian_closed_vs_fd.error, kTolerance)
      << check.input_jacobian_closed_vs_fd.where;
  EXPECT_LT(check.input_grad_vs_fd.error, kTolerance) << check.input_grad_vs_fd.where;
  EXPECT_LT(check.param_grad_vs_fd.error, kTolerance) << check.param_grad_vs_fd.where;
  EXPECT_LT(check.linear_in_dy.error, 1e-12) << check.linear_in_dy.where;
  EXPECT_TRUE(check.dx_assigned) << "dx must be assigned, not accumulated";
  EXPECT_TRUE(check.params_accumulate) << "parameter gradients must accumulate";
}

TEST(BatchNormTrain, GradientsAndBatchJacobianThroughBatchStatistics) {
  for (Index batch : {2, 3}) {
    for (bool affine : {true, false}) {
      Rng rng(7 + static_cast<std::uint64_t>(batch));
      std::unique_ptr<BatchNorm<double>> layer = batch_norm(4, affine, true, rng);
      const Matrix<double> x = input(4, batch, rng);
      SCOPED_TRACE(::testing::Message() << "batch " << batch << " affine " << affine);
      expect_contract_on_batch(*layer, x, rng);
      EXPECT_TRUE(layer->training());
    }
  }
}

// The checker itself must be able to fail: a layer whose backward is wrong is caught.
class WrongBackward final : public Layer<double> {
 public:
  std::string_view kind() const override { return "wrong"; }
  Index output_size(Index in) const override { return in; }
  void forward(ConstRef x, Ref y, Saved<double>&) const override {
    y = x.array().square().matrix();
  }
  void backward(ConstRef x, ConstRef, const Saved<double>&, ConstRef dy, Ref dx) override {
    dx = (x.array() * dy.array()).matrix();  // should be 2 x dy
  }
  std::unique_ptr<Layer<double>> clone() const override {
    return std::make_unique<WrongBackward>();
  }
};

TEST(GradientChecker, CatchesAWrongBackward) {
  Rng rng(1);
  WrongBackward layer;
  const Matrix<double> x = input(3, 2, rng);
  const testing::LayerCheck check = testing::check_layer(layer, x, rng);
  EXPECT_GT(check.input_grad_vs_fd.error, 1e-2);
  EXPECT_GT(check.input_jacobian_vjp_vs_fd.error, 1e-2);
}

}  // namespace
}  // namespace gradscope
