#include "gradscope/nn/network.hpp"

#include <gtest/gtest.h>

#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "support/gradient_check.hpp"

namespace gradscope {
namespace {

MlpSpec small_mlp(Index depth, ActivationKind act) {
  MlpSpec spec = gaussian_mlp_spec(5, depth, 1.5, 0.1, act);
  spec.inputs = 4;
  spec.outputs = 3;
  return spec;
}

// Whole networks of several depths and activations, MSE and cross-entropy, against finite
// differences of the loss in every parameter and every input.
TEST(Network, GradientsMatchFiniteDifferencesAtSeveralDepths) {
  for (Index depth : {1, 2, 4, 7}) {
    for (ActivationKind act : {ActivationKind::kTanh, ActivationKind::kSigmoid,
                               ActivationKind::kGelu, ActivationKind::kLeakyRelu}) {
      Rng rng(static_cast<std::uint64_t>(depth) * 31 + static_cast<std::uint64_t>(act));
      Network<double> network(build_mlp<double>(small_mlp(depth, act), rng));
      const Matrix<double> x = rng.normal_matrix<double>(4, 3);
      Targets<double> regression;
      regression.values = rng.normal_matrix<double>(3, 3);
      Targets<double> classes;
      classes.labels = {0, 2, 1};
      const testing::Disagreement mse =
          testing::check_network(network, MseLoss<double>(), x, regression);
      EXPECT_LT(mse.error, 1e-6) << "depth " << depth << " " << activation_name(act) << ": "
                                 << mse.where;
      const testing::Disagreement ce =
          testing::check_network(network, CrossEntropyLoss<double>(), x, classes);
      EXPECT_LT(ce.error, 1e-6) << "depth " << depth << " " << activation_name(act) << ": "
                                << ce.where;
    }
  }
}

TEST(Network, ParameterNamesFollowPytorchSequential) {
  Rng rng(1);
  Network<double> network(build_mlp<double>(small_mlp(3, ActivationKind::kTanh), rng));
  std::vector<std::string> names;
  for (const Param<double>& p : network.params()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                             "4.bias"}));
  EXPECT_EQ(network.body().size(), 5);
}

TEST(Network, SequentialJacobianIsTheProductOfLayerJacobians) {
  Rng rng(2);
  MlpSpec spec = small_mlp(3, ActivationKind::kTanh);
  spec.outputs = 5;
  Network<double> network(build_mlp<double>(spec, rng));
  const Matrix<double> x = rng.normal_matrix<double>(4, 1);
  const Matrix<double> closed = network.body().jacobian(x);
  const Matrix<double> vjp = jacobian_by_vjp<double>(network.body(), x);
  EXPECT_LT((closed - vjp).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_EQ(closed.rows(), 5);
  EXPECT_EQ(closed.cols(), 4);
}

TEST(Network, FloatAndDoubleAgree) {
  Rng rng_d(9), rng_f(9);
  Network<double> nd(build_mlp<double>(small_mlp(4, ActivationKind::kTanh), rng_d));
  Network<float> nf(build_mlp<float>(small_mlp(4, ActivationKind::kTanh), rng_f));
  const Matrix<double> x = Rng(10).normal_matrix<double>(4, 6);
  const Matrix<float> xf = x.cast<float>();
  EXPECT_LT((nf.forward(xf).cast<double>() - nd.forward(x)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(Network, ZeroGradClearsAccumulatedGradients) {
  Rng rng(4);
  Network<double> network(build_mlp<double>(small_mlp(2, ActivationKind::kTanh), rng));
  const Matrix<double> x = rng.normal_matrix<double>(4, 2);
  const Matrix<double>& y = network.forward(x);
  network.backward(Matrix<double>::Ones(y.rows(), y.cols()));
  EXPECT_GT(network.params().front().grad->norm(), 0.0);
  network.zero_grad();
  for (const Param<double>& p : network.params()) EXPECT_EQ(p.grad->norm(), 0.0);
}

}  // namespace
}  // namespace gradscope
