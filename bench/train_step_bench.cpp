// One training step of the article's deep MLP (depth 50, width 256, batch 128, tanh, float32):
// forward, MSE, backward, global gradient norm, SGD update; without the gradient probe, with it
// observing every layer on every step, and with it on every 10th step as gradscope train does
// by default (the probe's cost is the difference).
//
//   ./build/release/bench/train_step_bench --benchmark_repetitions=7
//       --benchmark_report_aggregates_only=true      (one command line)
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/optim/clipping.hpp"
#include "gradscope/optim/sgd.hpp"
#include "gradscope/probe/gradient_probe.hpp"

namespace gradscope {
namespace {

constexpr Index kDepth = 50;
constexpr Index kWidth = 256;
constexpr Index kBatch = 128;

struct StepFixture {
  Network<float> network;
  Matrix<float> x;
  Targets<float> targets;
  Matrix<float> doutput;
  std::vector<double> update_norms;
  Sgd<float> sgd;

  static OptimizerSpec sgd_spec() {
    OptimizerSpec spec;
    spec.kind = OptimizerKind::kSgd;
    spec.lr = 1e-3;
    return spec;
  }

  StepFixture() : sgd(sgd_spec()) {
    MlpSpec spec;
    spec.inputs = spec.width = kWidth;
    spec.outputs = 10;
    spec.depth = kDepth;
    spec.activation = ActivationKind::kTanh;
    Rng rng(0);
    network = Network<float>(build_mlp<float>(spec, rng));
    x = rng.normal_matrix<float>(kWidth, kBatch);
    targets.values = rng.normal_matrix<float>(10, kBatch);
  }

  double step(GradientProbe<float>* probe) {
    network.zero_grad();
    const Matrix<float>& out = network.forward(x);
    doutput.resize(out.rows(), out.cols());
    const double loss = MseLoss<float>().evaluate(out, targets, doutput);
    network.backward(doutput, probe);
    const std::vector<Param<float>> params = network.params();
    const ClipReport norm = gradient_norm(params);
    sgd.step(params, probe != nullptr ? &update_norms : nullptr);
    if (probe != nullptr) probe->record_updates(params, update_norms);
    return loss + norm.norm;
  }
};

// 3 GEMMs of (width x width x batch) per layer, 2 flops per multiply-add.
double step_flops() { return 3.0 * 2.0 * kDepth * kWidth * kWidth * kBatch; }

void BM_TrainStep(benchmark::State& state) {
  StepFixture fixture;
  for (auto _ : state) benchmark::DoNotOptimize(fixture.step(nullptr));
  state.counters["GFLOP/s"] =
      benchmark::Counter(step_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStepWithProbe(benchmark::State& state) {
  StepFixture fixture;
  GradientProbe<float> probe(fixture.network.body());
  for (auto _ : state) benchmark::DoNotOptimize(fixture.step(&probe));
  state.counters["GFLOP/s"] =
      benchmark::Counter(step_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The probe only reads: a step with it attached changes the weights exactly as one without.
bool probe_leaves_training_unchanged() {
  StepFixture plain, probed;
  GradientProbe<float> probe(probed.network.body());
  for (int i = 0; i < 3; ++i) {
    plain.step(nullptr);
    probed.step(&probe);
  }
  const std::vector<Param<float>> a = plain.network.params();
  const std::vector<Param<float>> b = probed.network.params();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (*a[i].value != *b[i].value) return false;
  }
  return true;
}

// gradscope train's default: the probe observes every 10th step.
void BM_TrainStepProbeEvery10(benchmark::State& state) {
  StepFixture fixture;
  GradientProbe<float> probe(fixture.network.body());
  long step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(fixture.step(++step % 10 == 0 ? &probe : nullptr));
  state.counters["GFLOP/s"] =
      benchmark::Counter(step_flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_TrainStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStepWithProbe)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStepProbeEvery10)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gradscope

int main(int argc, char** argv) {
  if (!gradscope::probe_leaves_training_unchanged()) {
    std::fprintf(stderr, "train_step_bench: the probe changed the training result\n");
    return EXIT_FAILURE;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return EXIT_FAILURE;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return EXIT_SUCCESS;
}
