// One forward + backward (full BPTT) of each recurrent cell: hidden 128, T = 200 steps, batch 64,
// input 2, float32, loss gradient at every step; without an observer, and with one that records
// ||dL/dh_t|| at every step (its cost is the difference). Before timing, each benchmark checks
// that the observed pass produces the same gradients bit for bit as the unobserved one, and that
// the observer saw T finite norms.
//
//   ./build/h-rnn-release/bench/recurrent_step_bench --benchmark_repetitions=15
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "gradscope/core/norms.hpp"
#include "gradscope/rnn/recurrent_init.hpp"
#include "gradscope/rnn/unroller.hpp"

namespace gradscope {
namespace {

constexpr Index kInputs = 2;
constexpr Index kHidden = 128;
constexpr Index kSteps = 200;
constexpr Index kBatch = 64;

// What a per-time-step probe does at least: one norm per step, stored.
class NormRecorder final : public TimeStepObserver<float> {
 public:
  NormRecorder() { norms.reserve(kSteps); }
  void after_time_step(const TimeStepGradientEvent<float>& event) override {
    norms.push_back(stable_norm<float>(event.dh));
  }
  std::vector<double> norms;
};

struct StepFixture {
  RecurrentStack<float> stack;
  Unroller<float> unroller;
  Matrix<float> x;
  Matrix<float> dy;

  explicit StepFixture(CellKind kind)
      : stack(kind, kInputs, kHidden, 1), unroller(stack, /*window=*/0) {
    Rng rng(0);
    init_pytorch_default(stack, rng);
    x = rng.normal_matrix<float>(kInputs, kSteps * kBatch);
    dy = rng.normal_matrix<float>(kHidden, kSteps * kBatch, 1e-2);
  }

  float step(NormRecorder* recorder) {
    stack.zero_grad();
    if (recorder != nullptr) recorder->norms.clear();
    unroller.forward(x, kBatch);
    const Matrix<float>& dx = unroller.backward(dy, recorder);
    return dx(0, 0) + stack.layer(0).dweight_hh()(0, 0);
  }

  std::vector<Matrix<float>> gradients() {
    std::vector<Matrix<float>> result;
    for (const Param<float>& p : stack.params()) result.push_back(*p.grad);
    return result;
  }

  // The observer must not change a single bit of the gradients.
  void check(NormRecorder& recorder) {
    step(nullptr);
    const std::vector<Matrix<float>> plain = gradients();
    step(&recorder);
    const std::vector<Matrix<float>> observed = gradients();
    bool ok = recorder.norms.size() == static_cast<std::size_t>(kSteps);
    for (double norm : recorder.norms) ok = ok && std::isfinite(norm) && norm > 0.0;
    for (std::size_t p = 0; p < plain.size(); ++p) {
      ok = ok && plain[p] == observed[p] && plain[p].allFinite();
    }
    if (!ok) {
      std::fprintf(stderr, "recurrent_step_bench: observed and plain passes disagree\n");
      std::abort();
    }
  }
};

// Matrix-product flops: input projection, W_hh h per step, W_hh^T dz per step, dW_hh, dW_ih, dx.
double step_flops(CellKind kind) {
  const double rows = static_cast<double>(gate_count(kind) * kHidden);
  const double columns = static_cast<double>(kSteps * kBatch);
  const double h = static_cast<double>(kHidden);
  const double i = static_cast<double>(kInputs);
  return 2.0 * rows * columns * (3.0 * h + 3.0 * i);
}

void BM_RecurrentStep(benchmark::State& state, CellKind kind, bool observe) {
  StepFixture fixture(kind);
  NormRecorder recorder;
  fixture.check(recorder);
  NormRecorder* observer = observe ? &recorder : nullptr;
  for (auto _ : state) benchmark::DoNotOptimize(fixture.step(observer));
  state.counters["GFLOP/s"] =
      benchmark::Counter(step_flops(kind) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(BM_RecurrentStep, rnn_tanh, CellKind::kRnnTanh, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, rnn_tanh_observed, CellKind::kRnnTanh, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, rnn_relu, CellKind::kRnnRelu, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, rnn_relu_observed, CellKind::kRnnRelu, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, lstm, CellKind::kLstm, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, lstm_observed, CellKind::kLstm, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, gru, CellKind::kGru, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RecurrentStep, gru_observed, CellKind::kGru, true)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gradscope

BENCHMARK_MAIN();
