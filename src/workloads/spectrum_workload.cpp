// spectrum: all Lyapunov exponents of the end-to-end Jacobian of a deep tanh MLP, the article's
// ordered phase (sigma_w^2 = 1, sigma_b^2 = 0.05), in float64.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gradscope/analysis/network_chain.hpp"
#include "gradscope/analysis/product_spectrum.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/model/mlp.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

constexpr Index kDefaultDepth = 100;
constexpr Index kDefaultWidth = 256;
constexpr double kSigmaW2 = 1.0;
constexpr double kSigmaB2 = 0.05;

class SpectrumWorkload final : public Workload {
 public:
  explicit SpectrumWorkload(const WorkloadOptions& options)
      : depth_(options.depth > 0 ? options.depth : kDefaultDepth),
        width_(options.width > 0 ? options.width : kDefaultWidth),
        seed_(options.seed) {
    // depth hidden layers and a head that the chain leaves out, as PyTorch's side has them.
    // The weights, plus a few n x n blocks of the route; counted in double, which no width
    // overflows.
    const auto n = static_cast<double>(width_);
    const double bytes = (static_cast<double>(depth_) + 8.0) * n * n * sizeof(double);
    check_fits_in_memory(saturating_bytes(bytes),
                         fmt::format("a spectrum workload of depth {}, width {}", depth_, width_));
    MlpSpec spec = gaussian_mlp_spec(width_, depth_ + 1, kSigmaW2, kSigmaB2);
    spec.outputs = 1;
    Rng rng(seed_);
    body_ = build_mlp<double>(spec, rng);
    x_ = rng.normal_matrix<double>(width_, 1);
  }

  void run() override {
    const NetworkChain chain(body_, x_, 1, depth_);
    spectrum_ = lyapunov_spectrum_blocked(chain, /*k=*/0, seed_);
  }

  // The explicit product's matrix products, the yardstick both sides are measured against.
  double flops() const override {
    const auto n = static_cast<double>(width_);
    return 2.0 * n * n * n * static_cast<double>(depth_);
  }

  nlohmann::json parameters() const override {
    return {{"depth", depth_},
            {"width", width_},
            {"sigma_w2", kSigmaW2},
            {"sigma_b2", kSigmaB2},
            {"dtype", "float64"}};
  }

  nlohmann::json result() const override {
    nlohmann::json exponents = nlohmann::json::array();
    Index finite = 0;
    for (double lambda : spectrum_.exponents) {
      const bool ok = std::isfinite(lambda);
      finite += ok ? 1 : 0;
      exponents.push_back(ok ? nlohmann::json(lambda) : nlohmann::json());
    }
    return {{"exponents", exponents},
            {"finite", finite},
            {"factors", spectrum_.factors},
            {"qr_count", spectrum_.qr_count}};
  }

 private:
  Index depth_;
  Index width_;
  std::uint64_t seed_;
  Sequential<double> body_;
  Matrix<double> x_;
  LyapunovSpectrum spectrum_;
};

}  // namespace

std::unique_ptr<Workload> make_spectrum_workload(const WorkloadOptions& options) {
  return std::make_unique<SpectrumWorkload>(options);
}

}  // namespace gradscope
