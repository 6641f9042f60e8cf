#include "gradscope/nn/residual.hpp"

#include <gtest/gtest.h>

#include "gradscope/core/error.hpp"
#include "gradscope/nn/batch_norm.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"
#include "gradscope/nn/layer_norm.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/nn/weight_norm.hpp"
#include "support/gradient_check.hpp"

namespace gradscope {
namespace {

std::unique_ptr<Dense<double>> dense(Index in, Index out, Rng& rng, bool bias = true) {
  auto layer = std::make_unique<Dense<double>>(in, out, bias);
  layer->weight() = rng.normal_matrix<double>(out, in, 0.8);
  if (bias) layer->bias() = rng.normal_matrix<double>(out, 1, 0.3);
  return layer;
}

// Dense(in, 5) + tanh + Dense(5, out): a branch whose Jacobian is far from 0 and from I.
Sequential<double> two_layer_branch(Index in, Index out, Rng& rng) {
  Sequential<double> branch;
  branch.add(dense(in, 5, rng));
  branch.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  branch.add(dense(5, out, rng));
  return branch;
}

ResidualOptions options(ResidualVariant variant, double alpha, bool learnable,
                        ActivationKind kind = ActivationKind::kTanh) {
  ResidualOptions o;
  o.variant = variant;
  o.alpha = alpha;
  o.learnable_alpha = learnable;
  o.activation = kind;
  return o;
}

Matrix<double> forward(const Layer<double>& layer, const Matrix<double>& x) {
  Saved<double> saved;
  Matrix<double> y(layer.output_size(x.rows()), x.cols());
  layer.forward(x, y, saved);
  return y;
}

double max_abs(const Matrix<double>& m) { return m.cwiseAbs().maxCoeff(); }

TEST(Residual, ZeroBranchGivesIdentityJacobianExactly) {
  for (bool learnable : {false, true}) {
    Rng rng(1);
    Residual<double> block(two_layer_branch(4, 4, rng),
                           options(ResidualVariant::kPreActivation, 0.0, learnable));
    const Matrix<double> x = rng.normal_matrix<double>(4, 1);
    const Matrix<double> jac = block.jacobian(x);
    EXPECT_EQ(jac, Matrix<double>::Identity(4, 4)) << jac;
    EXPECT_EQ(forward(block, x), x);
    // The branch's own Jacobian is not small: the identity comes from alpha = 0.
    EXPECT_GT(max_abs(block.branch().jacobian(x)), 0.1);
  }
}

TEST(Residual, JacobianIsSkipPlusAlphaTimesBranchJacobian) {
  Rng rng(2);
  Residual<double> block(two_layer_branch(4, 4, rng),
                         options(ResidualVariant::kPreActivation, 0.37, true));
  const Matrix<double> x = rng.normal_matrix<double>(4, 1);
  const Matrix<double> expected =
      Matrix<double>::Identity(4, 4) + 0.37 * block.branch().jacobian(x);
  EXPECT_LT(max_abs(block.jacobian(x) - expected), 1e-12);

  Dense<double> projection(4, 3, false);
  projection.weight() = rng.normal_matrix<double>(3, 4);
  Residual<double> projected(two_layer_branch(4, 3, rng), projection,
                             options(ResidualVariant::kPreActivation, -1.5, false));
  const Matrix<double> expected_projected =
      projection.weight() - 1.5 * projected.branch().jacobian(x);
  EXPECT_LT(max_abs(projected.jacobian(x) - expected_projected), 1e-12);
}

TEST(Residual, PostActivationJacobianScalesRowsByPhiPrime) {
  Rng rng(3);
  Residual<double> block(two_layer_branch(4, 4, rng),
                         options(ResidualVariant::kPostActivation, 0.8, false));
  const Matrix<double> x = rng.normal_matrix<double>(4, 1);
  const Matrix<double> z = x + 0.8 * forward(block.branch(), x);
  const Vector<double> dphi = 1.0 - z.array().tanh().square();
  const Matrix<double> expected =
      dphi.asDiagonal() * (Matrix<double>::Identity(4, 4) + 0.8 * block.branch().jacobian(x));
  EXPECT_LT(max_abs(block.jacobian(x) - expected), 1e-12);
  EXPECT_LT(max_abs(forward(block, x) - z.array().tanh().matrix()), 1e-15);
}

TEST(Residual, ParameterNamesFollowThePytorchModule) {
  Rng rng(4);
  Dense<double> projection(4, 3, false);
  Residual<double> block(two_layer_branch(4, 3, rng), projection, ResidualOptions::rezero());
  std::vector<std::string> names;
  for (const Param<double>& p : block.params()) names.push_back(p.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"alpha", "branch.0.weight", "branch.0.bias",
                                      "branch.2.weight", "branch.2.bias", "projection.weight"}));
  EXPECT_EQ(block.params().front().value->rows(), 1);
  EXPECT_EQ(block.params().front().value->cols(), 1);
  EXPECT_TRUE(block.has_projection());

  Residual<double> fixed(two_layer_branch(4, 4, rng));
  EXPECT_EQ(fixed.params().size(), 4u);  // a fixed alpha is not a parameter
  EXPECT_EQ(fixed.params().front().name, "branch.0.weight");
  EXPECT_FALSE(fixed.has_projection());
  EXPECT_EQ(fixed.alpha(), 1.0);
}

// ReZero at initialisation: the branch's parameters get no gradient, alpha gets <dy, F(x)>.
TEST(Residual, ReZeroAtInitTrainsOnlyAlpha) {
  Rng rng(5);
  Residual<double> block(two_layer_branch(4, 4, rng), ResidualOptions::rezero());
  const Matrix<double> x = rng.normal_matrix<double>(4, 3);
  const Matrix<double> dy = rng.normal_matrix<double>(4, 3);
  Saved<double> saved;
  Matrix<double> y(4, 3), dx(4, 3);
  block.forward(x, y, saved);
  block.zero_grad();
  block.backward(x, y, saved, dy, dx);
  const std::vector<Param<double>> params = block.params();
  const double expected_dalpha = (dy.array() * forward(block.branch(), x).array()).sum();
  EXPECT_NEAR((*params[0].grad)(0, 0), expected_dalpha, 1e-12);
  EXPECT_GT(std::abs(expected_dalpha), 1e-3);
  for (std::size_t i = 1; i < params.size(); ++i) EXPECT_EQ(params[i].grad->norm(), 0.0);
  EXPECT_EQ(dx, dy);
}

// dx = skip part + branch part, with the skip part P^T (phi' * dy) computed here by hand.
TEST(Residual, SkipGradientSplitsTheInputGradient) {
  for (ResidualVariant variant :
       {ResidualVariant::kPreActivation, ResidualVariant::kPostActivation}) {
    Rng rng(6);
    Dense<double> projection(4, 3, false);
    projection.weight() = rng.normal_matrix<double>(3, 4);
    const double alpha = 0.6;
    Residual<double> block(two_layer_branch(4, 3, rng), projection,
                           options(variant, alpha, false, ActivationKind::kSigmoid));
    const Matrix<double> x = rng.normal_matrix<double>(4, 2);
    const Matrix<double> dy = rng.normal_matrix<double>(3, 2);
    Saved<double> saved;
    Matrix<double> y(3, 2), dx(4, 2), dskip(4, 2);
    block.forward(x, y, saved);
    block.backward(x, y, saved, dy, dx);
    block.skip_gradient(y, dy, dskip);

    const Matrix<double> z = projection.weight() * x + alpha * forward(block.branch(), x);
    Matrix<double> dz = dy;
    if (variant == ResidualVariant::kPostActivation) {
      const Matrix<double> s = z.array().logistic().matrix();
      dz = (dy.array() * s.array() * (1.0 - s.array())).matrix();
    }
    EXPECT_LT(max_abs(dskip - projection.weight().transpose() * dz), 1e-12);

    // The rest is the branch's VJP with cotangent alpha dz.
    Sequential<double> branch = block.branch();
    Saved<double> branch_saved;
    Matrix<double> branch_out(3, 2), dbranch(4, 2);
    branch.forward(x, branch_out, branch_saved);
    const Matrix<double> cotangent = alpha * dz;
    branch.backward(x, branch_out, branch_saved, cotangent, dbranch);
    EXPECT_LT(max_abs(dx - dskip - dbranch), 1e-12);
    EXPECT_GT(max_abs(dbranch), 1e-3);
  }
}

TEST(Residual, PreActivationSkipGradientNeedsNoOutput) {
  Rng rng(7);
  Residual<double> block(two_layer_branch(4, 4, rng));
  const Matrix<double> dy = rng.normal_matrix<double>(4, 2);
  Matrix<double> dskip(4, 2);
  block.skip_gradient(dy, dskip);
  EXPECT_EQ(dskip, dy);
  Residual<double> post(two_layer_branch(4, 4, rng),
                        options(ResidualVariant::kPostActivation, 1.0, false));
  EXPECT_THROW(post.skip_gradient(dy, dskip), Error);
}

TEST(Residual, RejectsBadShapesAndActivations) {
  Rng rng(8);
  Residual<double> widening(two_layer_branch(4, 3, rng));
  Matrix<double> x = rng.normal_matrix<double>(4, 2);
  EXPECT_THROW(widening.output_size(4), Error);
  Dense<double> biased(4, 3, true);
  EXPECT_THROW(Residual<double>(two_layer_branch(4, 3, rng), biased), Error);
  Dense<double> wrong(5, 3, false);
  Residual<double> mismatched(two_layer_branch(4, 3, rng), wrong);
  EXPECT_THROW(mismatched.output_size(4), Error);
  try {
    Residual<double> gelu(two_layer_branch(4, 4, rng), options(ResidualVariant::kPostActivation,
                                                               1.0, false, ActivationKind::kGelu));
    ADD_FAILURE() << "a post-activation gelu block must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
}

struct Event {
  int depth;
  Index index;
  std::string kind;
  const Layer<double>* parent;
  Matrix<double> dy;
  Matrix<double> dx;
};

class Recorder final : public BackwardObserver<double> {
 public:
  void after_layer_backward(const LayerGradientEvent<double>& event) override {
    events.push_back({event.depth, event.index, std::string(event.layer.kind()), event.parent,
                      event.dy, event.dx});
  }
  std::vector<Event> events;
};

// Sequential [Dense, tanh, Residual(branch [Dense, tanh, Dense])]: the branch's children are
// reported one level deeper, before the block itself.
TEST(Residual, ObserverSeesInsideTheBranchBeforeTheBlock) {
  Rng rng(9);
  Sequential<double> body;
  body.add(dense(3, 4, rng));
  body.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  const double alpha = 0.5;
  body.add(std::make_unique<Residual<double>>(
      two_layer_branch(4, 4, rng), options(ResidualVariant::kPreActivation, alpha, false)));
  Network<double> network(std::move(body));
  const Matrix<double> x = rng.normal_matrix<double>(3, 2);
  const Matrix<double> y = network.forward(x);
  const Matrix<double> dy = rng.normal_matrix<double>(4, 2);
  Recorder recorder;
  network.backward(dy, &recorder);

  const auto& residual = static_cast<const Residual<double>&>(network.body().layer(2));
  const std::vector<std::pair<int, Index>> expected = {{1, 2}, {1, 1}, {1, 0},
                                                       {0, 2}, {0, 1}, {0, 0}};
  ASSERT_EQ(recorder.events.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(recorder.events[i].depth, expected[i].first) << i;
    EXPECT_EQ(recorder.events[i].index, expected[i].second) << i;
    EXPECT_EQ(recorder.events[i].parent, i < 3
                                             ? static_cast<const Layer<double>*>(&residual.branch())
                                             : static_cast<const Layer<double>*>(&network.body()))
        << i;
  }
  EXPECT_EQ(recorder.events[3].kind, "residual");
  // Inside the branch the cotangent is alpha dy; the block's dx is skip + branch's dx.
  EXPECT_LT(max_abs(recorder.events[0].dy - alpha * dy), 1e-15);
  Matrix<double> dskip(4, 2);
  residual.skip_gradient(y, dy, dskip);
  EXPECT_LT(max_abs(recorder.events[3].dx - dskip - recorder.events[2].dx), 1e-12);
}

TEST(Residual, NestedBlocksReportDeeperLevels) {
  Rng rng(10);
  Sequential<double> inner_branch;
  inner_branch.add(dense(4, 4, rng));
  Sequential<double> outer_branch;
  outer_branch.add(std::make_unique<Residual<double>>(std::move(inner_branch)));
  Sequential<double> body;
  body.add(std::make_unique<Residual<double>>(std::move(outer_branch)));
  Network<double> network(std::move(body));
  network.forward(rng.normal_matrix<double>(4, 2));
  Recorder recorder;
  network.backward(rng.normal_matrix<double>(4, 2), &recorder);
  ASSERT_EQ(recorder.events.size(), 3u);
  EXPECT_EQ(recorder.events[0].depth, 2);  // the inner Dense
  EXPECT_EQ(recorder.events[1].depth, 1);  // the inner block
  EXPECT_EQ(recorder.events[2].depth, 0);  // the outer block
  EXPECT_EQ(recorder.events[0].kind, "dense");
}

TEST(Residual, NestedSequentialChildrenAreReportedToo) {
  Rng rng(16);
  auto inner = std::make_unique<Sequential<double>>();
  inner->add(dense(3, 4, rng));
  inner->add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  const Layer<double>* inner_address = inner.get();
  Sequential<double> body;
  body.add(std::move(inner));
  body.add(dense(4, 2, rng));
  Network<double> network(std::move(body));
  network.forward(rng.normal_matrix<double>(3, 2));
  Recorder recorder;
  network.backward(rng.normal_matrix<double>(2, 2), &recorder);
  ASSERT_EQ(recorder.events.size(), 4u);
  const std::vector<std::pair<int, Index>> expected = {{0, 1}, {1, 1}, {1, 0}, {0, 0}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(recorder.events[i].depth, expected[i].first) << i;
    EXPECT_EQ(recorder.events[i].index, expected[i].second) << i;
  }
  EXPECT_EQ(recorder.events[1].parent, inner_address);
  EXPECT_EQ(recorder.events[3].kind, "sequential");
}

TEST(Residual, TrainingModeReachesTheBranch) {
  Rng rng(11);
  Sequential<double> branch;
  branch.add(std::make_unique<BatchNorm<double>>(4));
  branch.add(dense(4, 4, rng));
  Sequential<double> body;
  EXPECT_FALSE(branch.layer(1).depends_on_mode());
  body.add(std::make_unique<Residual<double>>(std::move(branch)));
  EXPECT_TRUE(body.depends_on_mode());  // through the BatchNorm in the branch
  EXPECT_FALSE(two_layer_branch(4, 4, rng).depends_on_mode());
  EXPECT_TRUE(body.training());
  body.set_training(false);
  const auto& block = static_cast<const Residual<double>&>(body.layer(0));
  EXPECT_FALSE(block.training());
  EXPECT_FALSE(block.branch().layer(0).training());
  std::unique_ptr<Layer<double>> copy = body.clone();
  EXPECT_FALSE(copy->training());
  body.set_training(true);
  EXPECT_TRUE(block.branch().layer(0).training());
  std::vector<std::string> names;
  for (const Buffer<double>& b : body.buffers()) names.push_back(b.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.branch.0.running_mean", "0.branch.0.running_var",
                                             "0.branch.0.num_batches_tracked"}));
}

TEST(Residual, FloatAgreesWithDouble) {
  Rng rng(12);
  Sequential<double> branch = two_layer_branch(4, 4, rng);
  Residual<double> block(branch, options(ResidualVariant::kPostActivation, 0.7, true));
  Sequential<float> branch_f;
  for (Index i = 0; i < branch.size(); ++i) {
    if (const auto* d = dynamic_cast<const Dense<double>*>(&branch.layer(i))) {
      auto df = std::make_unique<Dense<float>>(d->in_features(), d->out_features());
      df->weight() = d->weight().cast<float>();
      df->bias() = d->bias().cast<float>();
      branch_f.add(std::move(df));
    } else {
      branch_f.add(std::make_unique<Activation<float>>(ActivationKind::kTanh));
    }
  }
  Residual<float> block_f(std::move(branch_f),
                          options(ResidualVariant::kPostActivation, 0.7, true));
  const Matrix<double> x = rng.normal_matrix<double>(4, 3);
  Saved<float> saved;
  Matrix<float> y_f(4, 3);
  block_f.forward(x.cast<float>(), y_f, saved);
  EXPECT_LT(max_abs(y_f.cast<double>() - forward(block, x)), 1e-5);
}

// Whole networks mixing Dense, LayerNorm, BatchNorm (training and evaluation mode), WeightNorm
// and residual blocks of both variants, under MSE and cross-entropy.
Sequential<double> mixed_network(Rng& rng, bool batch_norm_training) {
  Sequential<double> body;
  body.add(dense(4, 5, rng));
  auto bn = std::make_unique<BatchNorm<double>>(5);
  bn->weight() = rng.uniform_matrix<double>(5, 1, 0.5, 1.5);
  bn->bias() = rng.normal_matrix<double>(5, 1, 0.3);
  body.add(std::move(bn));
  body.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));

  Sequential<double> normalised;  // pre-activation block: LayerNorm, Dense, gelu, Dense
  normalised.add(std::make_unique<LayerNorm<double>>(5));
  normalised.add(dense(5, 6, rng));
  normalised.add(std::make_unique<Activation<double>>(ActivationKind::kGelu));
  normalised.add(dense(6, 5, rng));
  body.add(std::make_unique<Residual<double>>(std::move(normalised),
                                              options(ResidualVariant::kPreActivation, 0.5, true)));

  Sequential<double> with_bn;  // post-activation block with a projection and a BatchNorm inside
  with_bn.add(dense(5, 3, rng));
  with_bn.add(std::make_unique<BatchNorm<double>>(3));
  Dense<double> projection(5, 3, false);
  projection.weight() = rng.normal_matrix<double>(3, 5, 0.5);
  body.add(std::make_unique<Residual<double>>(
      std::move(with_bn), projection, options(ResidualVariant::kPostActivation, 1.0, false)));

  body.add(std::make_unique<WeightNorm<double>>(*dense(3, 3, rng)));
  if (!batch_norm_training) {
    // Running statistics away from 0 and 1 before switching to evaluation mode.
    for (int step = 0; step < 3; ++step) forward(body, rng.normal_matrix<double>(4, 4, 2.0));
    body.set_training(false);
  }
  return body;
}

TEST(MixedNetworks, GradientsMatchFiniteDifferencesInBothModes) {
  for (bool training : {true, false}) {
    Rng rng(training ? 13 : 14);
    Network<double> network(mixed_network(rng, training));
    const Matrix<double> x = rng.normal_matrix<double>(4, 3);
    Targets<double> regression;
    regression.values = rng.normal_matrix<double>(3, 3);
    Targets<double> classes;
    classes.labels = {2, 0, 1};
    const testing::Disagreement mse =
        testing::check_network(network, MseLoss<double>(), x, regression);
    EXPECT_LT(mse.error, 1e-6) << "training " << training << ": " << mse.where;
    const testing::Disagreement ce =
        testing::check_network(network, CrossEntropyLoss<double>(), x, classes);
    EXPECT_LT(ce.error, 1e-6) << "training " << training << ": " << ce.where;
  }
}

// The per-sample Jacobian of a network is its evaluation-mode one, and computing it leaves the
// running averages alone.
TEST(MixedNetworks, JacobianIsEvaluationModeAndLeavesBuffersAlone) {
  Rng rng(15);
  Sequential<double> training = mixed_network(rng, true);
  forward(training, rng.normal_matrix<double>(4, 3));
  Sequential<double> evaluation = training;
  evaluation.set_training(false);
  std::vector<Matrix<double>> before;
  for (const Buffer<double>& b : training.buffers()) {
    if (b.value != nullptr) before.push_back(*b.value);
  }
  const Matrix<double> x = rng.normal_matrix<double>(4, 1);
  const Matrix<double> jac = training.jacobian(x);
  EXPECT_LT(max_abs(jac - evaluation.jacobian(x)), 1e-15);
  EXPECT_LT(max_abs(jac - jacobian_by_vjp<double>(evaluation, x)), 1e-12);
  std::size_t i = 0;
  for (const Buffer<double>& b : training.buffers()) {
    if (b.value != nullptr) {
      EXPECT_EQ(*b.value, before[i++]);
    }
  }
  EXPECT_TRUE(training.training());
}

// release_grad (PyTorch's set_to_none): whatever the gradients held, the next backward leaves
// exactly the fresh gradient in every parameter (Dense assigns, LayerNorm and alpha are zeroed,
// containers pass it on), and the backward after that accumulates again.
TEST(Residual, ReleasedGradientsAreAssignedByTheNextBackward) {
  Rng rng(12);
  auto projection = dense(5, 6, rng, false);
  Sequential<double> body;
  body.add(dense(4, 5, rng));
  body.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  body.add(std::make_unique<Residual<double>>(two_layer_branch(5, 6, rng), *projection,
                                              options(ResidualVariant::kPreActivation, 0.5, true)));
  body.add(std::make_unique<LayerNorm<double>>(6));
  body.add(dense(6, 3, rng));
  Network<double> network(std::move(body));
  const Matrix<double> x = rng.normal_matrix<double>(4, 3);
  const Matrix<double> dy = rng.normal_matrix<double>(3, 3);

  auto gradients = [&network] {
    std::vector<Matrix<double>> copies;
    for (const Param<double>& p : network.params()) copies.push_back(*p.grad);
    return copies;
  };
  network.zero_grad();
  network.forward(x);
  network.backward(dy);
  const std::vector<Matrix<double>> fresh = gradients();
  ASSERT_EQ(fresh.size(), 12u);  // two Dense, alpha, the branch's two Dense, P, LayerNorm's two
  for (const Matrix<double>& g : fresh) EXPECT_GT(g.norm(), 0.0);

  // Stale gradients from another batch, then released: the next backward ignores them.
  network.forward(rng.normal_matrix<double>(4, 3));
  network.backward(rng.normal_matrix<double>(3, 3));
  network.release_grad();
  network.forward(x);
  network.backward(dy);
  const std::vector<Matrix<double>> assigned = gradients();
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_LT((assigned[i] - fresh[i]).cwiseAbs().maxCoeff(), 1e-14) << network.params()[i].name;
  }
  network.backward(dy);
  const std::vector<Matrix<double>> accumulated = gradients();
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_LT((accumulated[i] - 2.0 * fresh[i]).cwiseAbs().maxCoeff(), 1e-13)
        << network.params()[i].name;
  }
}

}  // namespace
}  // namespace gradscope
