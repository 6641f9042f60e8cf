// gradscope bench WORKLOAD: time one of the article's workloads (workloads/workload.hpp) in this
// process: warm-up runs, then --reps timed runs; prints the median and the minimum, GFLOP/s and
// the process's peak memory, as a table or (--json) one JSON line per measurement, the line
// bench/compare reads and bench/torch_workloads.py prints for PyTorch.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "command.hpp"
#include "gradscope/core/statistics.hpp"
#include "gradscope/core/threads.hpp"
#include "gradscope/workloads/workload.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {

struct BenchOptions {
  std::string workload;
  WorkloadOptions workload_options;
  long reps = 5;
  long warmup = 1;
  bool json = false;
};

struct Timing {
  double median_ms = 0.0;
  double min_ms = 0.0;
};

Timing time_runs(Workload& workload, const BenchOptions& options, const std::string& label) {
  Progress progress(label, options.warmup + options.reps, 0);
  long done = 0;
  for (long i = 0; i < options.warmup; ++i) {
    workload.run();
    progress.update(++done);
  }
  std::vector<double> ms;
  for (long i = 0; i < options.reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    workload.run();
    const auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    progress.update(++done);
  }
  progress.finish();
  const double fastest = *std::min_element(ms.begin(), ms.end());
  return {median(std::move(ms)), fastest};
}

long max_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void measure(const BenchOptions& options, const WorkloadOptions& workload_options) {
  const std::unique_ptr<Workload> workload = make_workload(options.workload, workload_options);
  const Timing timing = time_runs(*workload, options, fmt::format("bench {}", options.workload));
  const double gflops = workload->flops() / (timing.median_ms * 1e-3) * 1e-9;
  const long peak_kb = max_rss_kb();
  const nlohmann::json parameters = workload->parameters();
  if (options.json) {
    nlohmann::json line = {
        {"side", "gradscope"},  {"workload", options.workload},  {"threads", thread_count()},
        {"reps", options.reps}, {"median_ms", timing.median_ms}, {"min_ms", timing.min_ms},
        {"gflops", gflops},     {"flops", workload->flops()},    {"max_rss_kb", peak_kb}};
    line.update(parameters);
    line["result"] = workload->result();
    fmt::print("{}\n", line.dump());
  } else {
    std::string settings;
    for (auto it = parameters.begin(); it != parameters.end(); ++it) {
      const std::string value = it->is_string() ? it->get<std::string>() : it->dump();
      settings += fmt::format("{}{}={}", settings.empty() ? "" : " ", it.key(), value);
    }
    fmt::print(
        "{} ({}), {} thread(s): median {:.3f} ms, min {:.3f} ms over {} runs, {:.1f} "
        "GFLOP/s, peak memory {:.0f} MiB\n",
        options.workload, settings, thread_count(), timing.median_ms, timing.min_ms, options.reps,
        gflops, static_cast<double>(peak_kb) / 1024.0);
  }
  std::fflush(stdout);
}

int run_bench(const BenchOptions& options) {
  if (options.workload == "gemm" && options.workload_options.size == 0) {
    for (Index size : gemm_sizes()) {
      WorkloadOptions sized = options.workload_options;
      sized.size = size;
      measure(options, sized);
    }
  } else {
    measure(options, options.workload_options);
  }
  return kExitOk;
}

}  // namespace

void register_bench_command(CLI::App& root, CommandTable& commands) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* sub = root.add_subcommand(
      "bench",
      "Time one of the article's workloads (the median of --reps runs after --warmup); "
      "bench/compare sets these against PyTorch");
  sub->add_option("workload", options->workload, "mlp, rnn, lstm, gru, spectrum or gemm")
      ->required()
      ->check(CLI::IsMember(workload_names()));
  sub->add_option("--reps", options->reps, "Timed repetitions")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--warmup", options->warmup, "Untimed repetitions first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--depth", options->workload_options.depth,
                  "mlp: weight layers (default 50); spectrum: layers (default 100)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--width", options->workload_options.width,
                  "mlp, spectrum: units per layer (default 256); rnn, lstm, gru: hidden units "
                  "(default 128)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", options->workload_options.batch,
                  "mlp: batch (default 128); rnn, lstm, gru: batch (default 64)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--steps", options->workload_options.steps,
                  "rnn, lstm, gru: sequence length T (default 200)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--size", options->workload_options.size,
                  "gemm: one matrix size (default: 256, 512, 1024 and 2048)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--per-step-grad", options->workload_options.per_step_grad,
                "rnn, lstm, gru: also record ||dL/dh_t|| for every t");
  sub->add_option("--seed", options->workload_options.seed, "Seed of the weights and data")
      ->capture_default_str();
  sub->add_flag("--json", options->json, "One JSON line per measurement");
  commands[sub] = [options] { return run_bench(*options); };
}

}  // namespace gradscope::cli
