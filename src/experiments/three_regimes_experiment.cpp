// three-regimes: the article's diagram "gradient norm versus layer depth for three regimes",
// measured on a chain whose every layer Jacobian is rho times an orthogonal matrix
// (three_regimes.hpp), and the verdict that log10 ||dL/dh_l|| falls or rises by log10 rho per
// layer.
#include <cmath>

#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/experiments/three_regimes.hpp"

namespace gradscope {

namespace {

// The chain is exactly orthogonal up to rounding: every per-sample gradient norm is multiplied
// by exactly rho per layer, so the fitted slope differs from -log10 rho only by rounding in the QR
// factors and the products (L * 1e-16 at most; 1e-17 measured). 1e-6 is far above rounding yet
// 2.4e-5 of the smallest nonzero slope, |log10 1.1| = 0.041: any real error in the chain, the
// probe or the fit shows.
constexpr double kSlopeTolerance = 1e-6;

std::string regime_label(double rho) {
  const char* what = rho < 1.0 ? "vanishing" : (rho > 1.0 ? "exploding" : "preserved");
  return fmt::format("rho = {:g} ({})", rho, what);
}

std::string regime_claim(double rho) {
  if (rho < 1.0) return fmt::format("rho = {:g} < 1: the gradient norm shrinks like rho^T", rho);
  if (rho > 1.0) return fmt::format("rho = {:g} > 1: the gradient norm grows like rho^T", rho);
  return "rho = 1: the gradient norm is approximately preserved";
}

class ThreeRegimesExperiment final : public Experiment {
 public:
  std::string name() const override { return "three-regimes"; }
  std::string title() const override {
    return "Gradient norm versus layer depth for three regimes (rho < 1, = 1, > 1)";
  }
  std::string claim() const override {
    return "Suppose every layer Jacobian J_t has spectral radius rho. Then the product of T such "
           "Jacobians has spectral radius approximately rho^T: rho < 1, the gradient norm "
           "shrinks like rho^T (vanishing); rho > 1, it grows like rho^T (exploding); rho = 1, "
           "it is approximately preserved.";
  }
  std::string source() const override {
    return "The article, 'The Geometric Picture' and its diagram: 'Vertical axis is log of "
           "gradient norm; horizontal is layer depth from output (layer L, far right) back to "
           "input (layer 1, far left).' With J_l = rho Q_l (Q_l orthogonal) every singular value "
           "is rho, so ||dL/dh_l|| = rho^(L-l) ||dL/dh_L|| exactly: slope -log10 rho per layer.";
  }

  ExperimentResult run(const ExperimentContext& context) const override {
    ThreeRegimesSpec spec;
    spec.depth = context.quick ? 30 : 50;
    spec.width = context.quick ? 64 : 256;
    spec.batch = context.quick ? 16 : 128;
    spec.seed = context.seed;
    const std::vector<double> rhos = spec.rhos;

    ExperimentResult result;
    result.settings = {{"depth", spec.depth},     {"width", spec.width},
                       {"batch", spec.batch},     {"rhos", rhos},
                       {"dtype", "float64"},      {"init", "rho * random orthogonal"},
                       {"activation", "identity"}};
    DataTable profiles("profiles", {"regime", "rho", "layer", "grad_norm", "log10_grad_norm"});
    DataTable fits("slopes", {"rho", "slope", "expected_slope", "difference"});
    context.report_progress(0, static_cast<long>(rhos.size()));
    for (std::size_t i = 0; i < rhos.size(); ++i) {
      // One rho at a time (the same seed, so the same Q_l for all three) for the progress bar.
      ThreeRegimesSpec one = spec;
      one.rhos = {rhos[i]};
      RegimeProfile p = three_regimes(one).front();
      p.expected_slope += 0.0;  // -log10(1) is -0: print it as 0
      for (std::size_t l = 0; l < p.log10_grad_norm.size(); ++l) {
        profiles.add_row({regime_label(p.rho), p.rho, static_cast<long>(l + 1),
                          std::pow(10.0, p.log10_grad_norm[l]), p.log10_grad_norm[l]});
      }
      fits.add_row({p.rho, p.slope, p.expected_slope, p.slope - p.expected_slope});
      result.verdicts.push_back(verdict_within(fmt::format("slope rho={:g}", p.rho),
                                               regime_claim(p.rho), p.slope, p.expected_slope,
                                               kSlopeTolerance, "log10 per layer"));
      context.report_progress(static_cast<long>(i + 1), static_cast<long>(rhos.size()));
    }

    figure::LineChart chart;
    chart.title =
        fmt::format("Gradient norm vs layer depth: {} layers, width {}", spec.depth, spec.width);
    chart.x = {"layer", fmt::format("layer depth (1 = input, far left; {} = output, far right)",
                                    spec.depth)};
    chart.x.domain = std::make_pair(1.0, static_cast<double>(spec.depth));
    chart.y = {"grad_norm", "gradient norm ||dL/dh_l|| (log scale)", true};
    chart.series = "regime";
    chart.series_title = "spectral radius";
    result.figures.push_back(
        {"profiles",
         "log gradient norm against layer depth, input at the left, output layer at the right: "
         "rho < 1 vanishes toward the input, rho > 1 explodes, rho = 1 stays flat.",
         figure::line_chart(profiles, chart)});
    result.tables.push_back(std::move(profiles));
    result.tables.push_back(std::move(fits));
    return result;
  }
};

}  // namespace

std::unique_ptr<Experiment> make_three_regimes_experiment() {
  return std::make_unique<ThreeRegimesExperiment>();
}

}  // namespace gradscope
