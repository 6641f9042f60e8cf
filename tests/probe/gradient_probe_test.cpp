#include "gradscope/probe/gradient_probe.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/norms.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/optim/sgd.hpp"
#include "gradscope/probe/probe_once.hpp"

namespace gradscope {
namespace {

MlpSpec spec(Index depth, ActivationKind act) {
  MlpSpec s = gaussian_mlp_spec(8, depth, 1.5, 0.05, act);
  s.inputs = 6;
  s.outputs = 3;
  return s;
}

// The probe's norms must equal norms computed directly from an unobserved backward pass, where
// dL/dh_l is obtained by running the children's backward by hand.
TEST(GradientProbe, NormsEqualThoseOfTheBackwardPass) {
  Rng rng(7);
  Sequential<double> body = build_mlp<double>(spec(4, ActivationKind::kTanh), rng);
  const Matrix<double> x = rng.normal_matrix<double>(6, 5);
  Targets<double> targets;
  targets.values = rng.normal_matrix<double>(3, 5);

  // By hand: forward child by child, keep every h, then backward child by child.
  std::vector<Matrix<double>> h{x};
  std::vector<Saved<double>> saved(static_cast<std::size_t>(body.size()));
  for (Index i = 0; i < body.size(); ++i) {
    Matrix<double> next(body.layer(i).output_size(h.back().rows()), 5);
    body.layer(i).forward(h.back(), next, saved[static_cast<std::size_t>(i)]);
    h.push_back(next);
  }
  Matrix<double> g(3, 5);
  MseLoss<double>().evaluate(h.back(), targets, g);
  std::vector<Matrix<double>> grad_at_output(static_cast<std::size_t>(body.size()));
  body.zero_grad();
  for (Index i = body.size() - 1; i >= 0; --i) {
    const auto k = static_cast<std::size_t>(i);
    grad_at_output[k] = g;
    Matrix<double> dx(h[k].rows(), 5);
    body.layer(i).backward(h[k], h[k + 1], saved[k], g, dx);
    g = dx;
  }
  std::vector<Matrix<double>> weight_grads;
  for (Index l = 0; l < 4; ++l) weight_grads.push_back(*body.layer(2 * l).params()[0].grad);

  Network<double> network(body);
  const ProbeResult probed = probe_once<double>(network, x, targets, MseLoss<double>());
  ASSERT_EQ(probed.layers.size(), 4u);
  for (std::size_t l = 0; l < 4; ++l) {
    // Layer l's output h_l is the output of its activation (child 2l + 1), or of the head.
    const Matrix<double>& dh = grad_at_output[l == 3 ? 6 : 2 * l + 1];
    double mean = 0.0;
    for (Index j = 0; j < 5; ++j) mean += dh.col(j).norm() / 5.0;
    EXPECT_NEAR(probed.layers[l].grad_norm, mean, 1e-12 * mean);
    EXPECT_NEAR(probed.layers[l].grad_norm_batch, dh.norm(), 1e-12 * dh.norm());
    EXPECT_NEAR(probed.layers[l].weight_grad_norm, weight_grads[l].norm(),
                1e-12 * weight_grads[l].norm());
    EXPECT_NEAR(probed.layers[l].weight_norm,
                body.layer(2 * static_cast<Index>(l)).params()[0].value->norm(), 1e-12);
    EXPECT_EQ(probed.layers[l].rel_dist_init, 0.0);
    EXPECT_FALSE(probed.layers[l].nonfinite);
    EXPECT_EQ(probed.layers[l].index, static_cast<int>(l) + 1);
  }
  EXPECT_EQ(probed.layers[0].name, "0");
  EXPECT_EQ(probed.layers[3].name, "6");
  EXPECT_EQ(probed.layers[0].activation, "tanh");
  EXPECT_EQ(probed.layers[3].activation, "identity");
  EXPECT_DOUBLE_EQ(probed.ratio_first_last,
                   probed.layers[0].grad_norm / probed.layers[3].grad_norm);
}

TEST(GradientProbe, CountsSaturatedAndDeadUnits) {
  Rng rng(8);
  MlpSpec saturated = spec(3, ActivationKind::kSigmoid);
  saturated.init.sigma_w2 = 400.0;  // pre-activations of size ~20: sigmoid pinned at 0 or 1
  Network<double> net(build_mlp<double>(saturated, rng));
  Targets<double> t;
  t.values = rng.normal_matrix<double>(3, 16);
  const Matrix<double> x = rng.normal_matrix<double>(6, 16);
  const ProbeResult sat = probe_once<double>(net, x, t, MseLoss<double>());
  // Counted directly: sigma'(z) = s (1 - s) below 1% of its maximum 1/4.
  const Matrix<double>& w = *net.body().layer(0).params()[0].value;
  const Matrix<double>& b = *net.body().layer(0).params()[1].value;
  const Matrix<double> z = (w * x).colwise() + b.col(0);
  const Eigen::ArrayXXd s = 1.0 / (1.0 + (-z.array()).exp());
  const double expected = static_cast<double>((s * (1.0 - s) < 0.0025).count()) / 128.0;
  EXPECT_DOUBLE_EQ(sat.layers[0].saturated, expected);
  EXPECT_GT(sat.layers[0].saturated, 0.5);
  EXPECT_EQ(sat.layers[0].dead, 0.0);

  MlpSpec relu = spec(3, ActivationKind::kRelu);
  Network<double> dead(build_mlp<double>(relu, rng));
  // Strongly negative biases in the first layer: every unit is off for every sample.
  dead.body().layer(0).params()[1].value->setConstant(-100.0);
  const ProbeResult d = probe_once<double>(dead, x, t, MseLoss<double>());
  EXPECT_EQ(d.layers[0].dead, 1.0);
  EXPECT_EQ(d.layers[0].saturated, 0.0);                    // ReLU does not saturate; it dies
  EXPECT_EQ(d.layers[0].grad_norm, d.layers[0].grad_norm);  // finite
}

TEST(GradientProbe, UpdateRatioAndDistanceFromInit) {
  Rng rng(9);
  Network<double> net(build_mlp<double>(spec(2, ActivationKind::kTanh), rng));
  GradientProbe<double> probe(net.body());
  const Matrix<double> x = rng.normal_matrix<double>(6, 4);
  Targets<double> t;
  t.values = rng.normal_matrix<double>(3, 4);
  Matrix<double> dy(3, 4);
  net.zero_grad();
  MseLoss<double>().evaluate(net.forward(x), t, dy);
  net.backward(dy, &probe);
  const Matrix<double> w0 = *net.params()[0].value;
  const Matrix<double> g0 = *net.params()[0].grad;
  OptimizerSpec sgd;
  sgd.kind = OptimizerKind::kSgd;
  sgd.lr = 0.1;
  std::vector<double> update_norms;
  Sgd<double>(sgd).step(net.params(), &update_norms);
  probe.record_updates(net.params(), update_norms);
  ASSERT_TRUE(probe.records()[0].update_ratio.has_value());
  EXPECT_NEAR(*probe.records()[0].update_ratio, 0.1 * g0.norm() / w0.norm(), 1e-12);
  EXPECT_NEAR(*probe.records()[0].update_ratio, (*net.params()[0].value - w0).norm() / w0.norm(),
              1e-12);

  // The next observed pass sees the weights 0.1 ||g|| away from where they started.
  net.zero_grad();
  MseLoss<double>().evaluate(net.forward(x), t, dy);
  net.backward(dy, &probe);
  EXPECT_NEAR(probe.records()[0].rel_dist_init, 0.1 * g0.norm() / w0.norm(), 1e-12);
  EXPECT_FALSE(probe.records()[0].update_ratio.has_value());
}

TEST(GradientProbe, FlagsNonFiniteValues) {
  Rng rng(10);
  Network<double> net(build_mlp<double>(spec(3, ActivationKind::kTanh), rng));
  (*net.body().layer(2).params()[0].value)(0, 0) = std::nan("");
  Targets<double> t;
  t.values = rng.normal_matrix<double>(3, 4);
  const ProbeResult r =
      probe_once<double>(net, rng.normal_matrix<double>(6, 4), t, MseLoss<double>());
  EXPECT_TRUE(r.layers[1].nonfinite);
}

TEST(GradientProbe, TinyGradientsDoNotUnderflowToZero) {
  // 1e-170 per entry: the squared norm underflows double, a stable norm does not.
  const Matrix<double> tiny = Matrix<double>::Constant(4, 2, 1e-170);
  EXPECT_NEAR(mean_column_norm<double>(tiny) / 2e-170, 1.0, 1e-12);
  EXPECT_NEAR(stable_norm<double>(tiny) / (std::sqrt(8.0) * 1e-170), 1.0, 1e-12);
  const Matrix<float> tiny_float = Matrix<float>::Constant(4, 2, 1e-25f);
  EXPECT_NEAR(stable_norm<float>(tiny_float) / (std::sqrt(8.0) * 1e-25), 1.0, 1e-6);
}

}  // namespace
}  // namespace gradscope
