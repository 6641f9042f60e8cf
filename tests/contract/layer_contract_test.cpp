// One table of every layer: adding a layer adds one line and gets, in double, the input Jacobian
// three ways (finite differences, VJP-assembled, closed form), parameter and input gradients by
// finite differences on <y, dy>, the assign/accumulate contract and linearity in dy.
#include <gtest/gtest.h>

#include <functional>

#include "gradscope/init/initializer.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/dense.hpp"
#include "gradscope/nn/sequential.hpp"
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

std::vector<LayerCase> all_layers() {
  std::vector<LayerCase> cases = {
      {"DenseWithBias", 4, [](Rng& rng) { return dense(4, 3, true, rng); }},
      {"DenseWithoutBias", 5, [](Rng& rng) { return dense(5, 2, false, rng); }},
      {"DenseSquare", 3, [](Rng& rng) { return dense(3, 3, true, rng); }},
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
