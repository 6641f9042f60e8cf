#include "gradscope/optim/step_during_backward.hpp"

#include <gtest/gtest.h>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/nn/residual.hpp"

namespace gradscope {
namespace {

// Dense, tanh, a residual block with a learnable alpha, Dense: parameters at two depths.
Network<double> small_network(std::uint64_t seed) {
  Rng rng(seed);
  auto dense = [&rng](Index in, Index out) {
    auto layer = std::make_unique<Dense<double>>(in, out);
    layer->weight() = rng.normal_matrix<double>(out, in, 0.7);
    layer->bias() = rng.normal_matrix<double>(out, 1, 0.2);
    return layer;
  };
  Sequential<double> branch;
  branch.add(dense(5, 5));
  branch.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  Sequential<double> body;
  body.add(dense(4, 5));
  body.add(std::make_unique<Activation<double>>(ActivationKind::kTanh));
  ResidualOptions rezero = ResidualOptions::rezero();
  rezero.alpha = 0.3;
  body.add(std::make_unique<Residual<double>>(std::move(branch), rezero));
  body.add(dense(5, 3));
  return Network<double>(std::move(body));
}

std::vector<OptimizerSpec> optimizer_specs() {
  std::vector<OptimizerSpec> specs;
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    OptimizerSpec spec;
    spec.kind = kind;
    spec.lr = 0.05;
    spec.weight_decay = 0.01;
    specs.push_back(spec);
  }
  specs[0].momentum = 0.9;  // sgd with momentum: state kept per position across steps
  specs.push_back(specs[0]);
  specs.back().nesterov = true;
  return specs;
}

double largest_difference(const std::vector<Param<double>>& a,
                          const std::vector<Param<double>>& b) {
  double largest = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    largest = std::max(largest, (*a[i].value - *b[i].value).cwiseAbs().maxCoeff());
  }
  return largest;
}

// Three steps each way, from the same start on the same batches: the parameters and the update
// norms agree to the last bit, and they really moved.
TEST(StepDuringBackward, GivesTheParametersThatStepGives) {
  for (const OptimizerSpec& spec : optimizer_specs()) {
    Network<double> after = small_network(3);
    Network<double> during = small_network(3);
    const std::unique_ptr<Optimizer<double>> after_optimizer = make_optimizer<double>(spec);
    const std::unique_ptr<Optimizer<double>> during_optimizer = make_optimizer<double>(spec);
    StepDuringBackward<double> stepper(during.body(), *during_optimizer);
    const std::vector<Param<double>> after_params = after.params();
    const Matrix<double> start = *after_params.front().value;
    Rng rng(4);
    for (int step = 0; step < 3; ++step) {
      const Matrix<double> x = rng.normal_matrix<double>(4, 6);
      Targets<double> targets;
      targets.values = rng.normal_matrix<double>(3, 6);
      Matrix<double> dy(3, 6);

      after.zero_grad();
      MseLoss<double>().evaluate(after.forward(x), targets, dy);
      after.backward(dy);
      std::vector<double> after_norms;
      after_optimizer->step(after_params, &after_norms);

      during.release_grad();
      MseLoss<double>().evaluate(during.forward(x), targets, dy);
      std::vector<double> during_norms;
      stepper.begin(&during_norms);
      during.backward(dy, &stepper);
      stepper.finish();

      EXPECT_EQ(largest_difference(after_params, stepper.params()), 0.0)
          << optimizer_name(spec.kind) << " step " << step;
      EXPECT_EQ(after_norms, during_norms) << optimizer_name(spec.kind) << " step " << step;
    }
    EXPECT_GT((*after_params.front().value - start).norm(), 1e-3);
  }
}

// The observer handed in as `first` sees each layer's final gradient beside its old weights.
class RecordWeights final : public BackwardObserver<double> {
 public:
  void after_layer_backward(const LayerGradientEvent<double>& event) override {
    if (event.depth == 0 && event.index == 0) {
      weight_seen = *const_cast<Layer<double>&>(event.layer).params().front().value;
    }
  }
  Matrix<double> weight_seen;
};

TEST(StepDuringBackward, FirstObserverSeesTheWeightsBeforeTheUpdate) {
  Network<double> network = small_network(5);
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.lr = 0.1;
  const std::unique_ptr<Optimizer<double>> sgd = make_optimizer<double>(spec);
  RecordWeights record;
  StepDuringBackward<double> stepper(network.body(), *sgd, &record);
  const Matrix<double> before = *network.params().front().value;
  const Matrix<double>& y = network.forward(Rng(6).normal_matrix<double>(4, 2));
  network.zero_grad();
  stepper.begin();
  network.backward(Matrix<double>::Ones(y.rows(), y.cols()), &stepper);
  stepper.finish();
  EXPECT_EQ(record.weight_seen, before);
  const std::vector<Param<double>> params = network.params();
  const Param<double>& first = params.front();
  EXPECT_LT((*first.value - (before - 0.1 * *first.grad)).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_GT(first.grad->norm(), 0.0);
}

TEST(StepDuringBackward, FinishRefusesAStepWhoseBackwardDidNotRun) {
  Network<double> network = small_network(7);
  OptimizerSpec spec;
  const std::unique_ptr<Optimizer<double>> adam = make_optimizer<double>(spec);
  StepDuringBackward<double> stepper(network.body(), *adam);
  stepper.begin();
  EXPECT_THROW(stepper.finish(), Error);
}

TEST(OptimizerInParts, UpdateOutsideABegunStepIsRefused) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  const std::unique_ptr<Optimizer<double>> sgd = make_optimizer<double>(spec);
  Matrix<double> w = Matrix<double>::Ones(2, 2), dw = Matrix<double>::Ones(2, 2);
  const std::vector<Param<double>> params{{"weight", &w, &dw}};
  EXPECT_THROW(sgd->update(params, 0), Error);
  sgd->begin_step(params);
  EXPECT_THROW(sgd->update(params, 1), Error);
  sgd->update(params, 0);
  EXPECT_EQ(w(0, 0), 1.0 - spec.lr);
}

}  // namespace
}  // namespace gradscope
