// The full Lyapunov spectrum of a deep network (issue 5): a tanh MLP with Gaussian init
// sigma_w^2 = 1, sigma_b^2 = 0.05 (the article's ordered phase), inputs = width, float64. The
// network is built once per (depth, width) outside the timed loop; one iteration takes the
// Jacobian chain of the hidden layers 2 .. depth-1 at one sample x ~ N(0, 1) (forward of the
// sample and the activation derivatives: NetworkChain) and all `width` exponents of their product
// by QR re-orthonormalisation (lyapunov_spectrum, k = 0). T = depth - 2 factors.
//
// Before timing, each case checks its result against an exact identity: with every direction
// followed (k = n, square factors), sum_i log |R_ii| over the chain is log |det P|, so
// T * sum_i lambda_i must equal sum_l (log |det W_l| + sum_j log(1 - h_lj^2)), computed here
// layer by layer from the weights (LU) and an independent forward pass.
//
//   ./build/release/bench/lyapunov_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// With --export=DIR [--depth=D --width=W] (default 1000 x 256) it runs nothing timed and writes
// the case's network and sample (DIR/lyapunov_DxW.safetensors: "0.weight", "0.bias", ... under
// PyTorch's names, and "x") and gradscope's answer (DIR/lyapunov_DxW.json: the Lyapunov exponents
// and log(sigma_i(P)) / T from product_singular_values), so that bench/lyapunov_torch.py can
// compute the naive PyTorch answer on the very same weights and compare.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gradscope/analysis/network_chain.hpp"
#include "gradscope/analysis/product_spectrum.hpp"
#include "gradscope/io/checkpoint.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/dense.hpp"

// Same false-positive guard as core/types.hpp (GCC bug 105593 with AVX-512).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/LU>
#pragma GCC diagnostic pop

namespace gradscope {
namespace {

constexpr std::uint64_t kSeed = 0;
constexpr Index kFirstLayer = 2;  // the hidden layers 2 .. depth-1: square width x width factors
constexpr double kSigmaW2 = 1.0;
constexpr double kSigmaB2 = 0.05;

struct LyapunovFixture {
  Index depth = 0;
  Index width = 0;
  Sequential<double> body;
  Matrix<double> x;  // (width, 1)

  LyapunovFixture(Index network_depth, Index network_width)
      : depth(network_depth), width(network_width) {
    const MlpSpec spec = gaussian_mlp_spec(width, depth, kSigmaW2, kSigmaB2);
    Rng rng(kSeed);
    body = build_mlp<double>(spec, rng);
    x = rng.normal_matrix<double>(width, 1);
  }

  Index last_layer() const { return depth - 1; }
  Index factors() const { return last_layer() - kFirstLayer + 1; }

  // The timed job: forward of the sample + derivatives, then every exponent.
  LyapunovSpectrum spectrum() const {
    const NetworkChain chain(body, x, kFirstLayer, last_layer());
    return lyapunov_spectrum(chain, /*k=*/0, kSeed);
  }

  // sum_l log |det J_l| over the chain, J_l = diag(1 - h_l^2) W_l, from a forward pass written
  // out here (child 2(l-1) is layer l's Dense, child 2l - 1 its tanh).
  double log_abs_det_product() const {
    Vector<double> h = x;
    Vector<double> z;
    double total = 0.0;
    for (Index l = 1; l <= last_layer(); ++l) {
      const auto& dense = dynamic_cast<const Dense<double>&>(body.layer(2 * (l - 1)));
      z.noalias() = dense.weight() * h;
      z += dense.bias();
      h = z.array().tanh();
      if (l < kFirstLayer) continue;
      const Eigen::PartialPivLU<Matrix<double>> lu(dense.weight());
      total += lu.matrixLU().diagonal().array().abs().log().sum();
      total += (1.0 - h.array().square()).log().sum();
    }
    return total;
  }

  // All exponents finite and T * sum lambda_i = log |det P| to 1e-9 relative.
  void check(const LyapunovSpectrum& result) const {
    double sum = 0.0;
    bool ok = result.factors == factors() && static_cast<Index>(result.exponents.size()) == width;
    for (double lambda : result.exponents) {
      ok = ok && std::isfinite(lambda);
      sum += lambda;
    }
    const double expected = log_abs_det_product();
    const double measured = sum * static_cast<double>(factors());
    if (!ok || std::abs(measured - expected) > 1e-9 * std::abs(expected)) {
      std::fprintf(stderr,
                   "lyapunov_bench: depth %ld width %ld: T sum(lambda) = %.17g, log|det P| = "
                   "%.17g\n",
                   static_cast<long>(depth), static_cast<long>(width), measured, expected);
      std::abort();
    }
  }
};

// One fixture per (depth, width), built and checked once: Google Benchmark may call a case
// several times while it picks the iteration count.
const LyapunovFixture& fixture(Index depth, Index width) {
  static std::map<std::pair<Index, Index>, LyapunovFixture> fixtures;
  const auto key = std::make_pair(depth, width);
  auto it = fixtures.find(key);
  if (it == fixtures.end()) {
    it = fixtures.try_emplace(key, depth, width).first;
    it->second.check(it->second.spectrum());
  }
  return it->second;
}

// Per factor: W Q (2 n^3), Householder QR of the n x n result (4/3 n^3), forming Q (4/3 n^3).
double flops_per_factor(Index width) {
  const double n = static_cast<double>(width);
  return (2.0 + 4.0 / 3.0 + 4.0 / 3.0) * n * n * n;
}

void BM_LyapunovSpectrum(benchmark::State& state) {
  const LyapunovFixture& f = fixture(state.range(0), state.range(1));
  LyapunovSpectrum result;
  for (auto _ : state) {
    result = f.spectrum();
    benchmark::DoNotOptimize(result.exponents.data());
    benchmark::ClobberMemory();
  }
  const double factors = static_cast<double>(f.factors());
  state.counters["exponents"] = static_cast<double>(result.exponents.size());
  state.counters["top"] = result.exponents.front();
  state.counters["bottom"] = result.exponents.back();
  state.counters["layers/s"] =
      benchmark::Counter(factors, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(factors * flops_per_factor(f.width) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// {depth, width}: the headline 1000 x 256, depth scaling at width 256, width scaling at
// depth 1000.
BENCHMARK(BM_LyapunovSpectrum)
    ->ArgNames({"depth", "width"})
    ->Args({1000, 256})
    ->Args({250, 256})
    ->Args({500, 256})
    ->Args({1000, 64})
    ->Args({1000, 128})
    ->Unit(benchmark::kMillisecond);

// Passes through P and P^T for the exported singular values, and when to stop earlier.
constexpr int kExportPasses = 20;
constexpr double kExportTolerance = 1e-6;  // in log sigma

// --export=DIR: the network, the sample and gradscope's answer, for bench/lyapunov_torch.py.
int export_case(const std::string& dir, Index depth, Index width) {
  LyapunovFixture f(depth, width);
  const LyapunovSpectrum lyapunov = f.spectrum();
  f.check(lyapunov);
  const NetworkChain chain(f.body, f.x, kFirstLayer, f.last_layer());
  // Converging every pair to the default 1e-12 takes the library's 200-pass cap (17 min at
  // 1000 x 256); 20 passes settle log sigma_i / T far below the 1e-3 the comparison uses.
  const ProductSingularValues singular =
      product_singular_values(chain, /*k=*/0, kSeed, kExportPasses, kExportTolerance);

  const std::string stem = dir + "/lyapunov_" + std::to_string(depth) + "x" + std::to_string(width);
  SafetensorsWriter writer;
  add_parameters(writer, f.body.params());
  writer.add_vector<double>("x", f.x);
  writer.set_metadata("first_layer", std::to_string(kFirstLayer));
  writer.set_metadata("last_layer", std::to_string(f.last_layer()));
  writer.write(stem + ".safetensors");

  std::FILE* out = std::fopen((stem + ".json").c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "lyapunov_bench: cannot write %s.json\n", stem.c_str());
    return EXIT_FAILURE;
  }
  const double factors = static_cast<double>(f.factors());
  const auto write_list = [out](const char* name, const std::vector<double>& values, double scale) {
    std::fprintf(out, "  \"%s\": [", name);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i] * scale;
      std::fprintf(out, i == 0 ? "" : ", ");
      if (std::isfinite(v)) {
        std::fprintf(out, "%.17g", v);
      } else {
        std::fprintf(out, "null");
      }
    }
    std::fprintf(out, "]");
  };
  std::fprintf(out, "{\n  \"depth\": %ld, \"width\": %ld, \"factors\": %ld,\n",
               static_cast<long>(depth), static_cast<long>(width), static_cast<long>(f.factors()));
  std::fprintf(out,
               "  \"sv_passes\": %d, \"sv_tolerance\": %g, \"sv_converged\": %s, "
               "\"sv_last_change\": %g,\n",
               singular.passes, kExportTolerance, singular.converged ? "true" : "false",
               singular.last_change);
  write_list("lyapunov", lyapunov.exponents, 1.0);
  std::fprintf(out, ",\n");
  write_list("log_sigma_over_t", singular.log_singular_values, 1.0 / factors);
  std::fprintf(out, "\n}\n");
  std::fclose(out);
  std::printf("wrote %s.safetensors and %s.json (%d passes for the singular values%s)\n",
              stem.c_str(), stem.c_str(), singular.passes,
              singular.converged ? "" : ", NOT converged");
  return EXIT_SUCCESS;
}

// "--name=value" -> value, or nullptr.
const char* flag_value(std::string_view arg, std::string_view name) {
  if (arg.size() <= name.size() + 1 || arg.substr(0, name.size()) != name ||
      arg[name.size()] != '=') {
    return nullptr;
  }
  return arg.data() + name.size() + 1;
}

}  // namespace
}  // namespace gradscope

int main(int argc, char** argv) {
  const char* export_dir = nullptr;
  long depth = 1000;
  long width = 256;
  for (int i = 1; i < argc; ++i) {
    if (const char* v = gradscope::flag_value(argv[i], "--export")) export_dir = v;
    if (const char* v = gradscope::flag_value(argv[i], "--depth")) depth = std::atol(v);
    if (const char* v = gradscope::flag_value(argv[i], "--width")) width = std::atol(v);
  }
  if (export_dir != nullptr) {
    if (depth < 3 || width < 1) {
      std::fprintf(stderr, "lyapunov_bench: --export needs --depth >= 3 and --width >= 1\n");
      return EXIT_FAILURE;
    }
    return gradscope::export_case(export_dir, depth, width);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return EXIT_FAILURE;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return EXIT_SUCCESS;
}
