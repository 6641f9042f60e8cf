#include "gradscope/analysis/product_spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "gradscope/core/decompositions.hpp"
#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/core/threads.hpp"

namespace gradscope {

namespace {

Index checked_block_width(const JacobianChain& chain, Index k, const char* what) {
  if (chain.length() == 0) throw_bad_input("{}: the Jacobian chain is empty", what);
  const Index width = chain.min_width();
  if (k < 0 || k > width) {
    throw_bad_input("{}: asked for {} directions but the product has rank at most {}", what, k,
                    width);
  }
  return k == 0 ? width : k;
}

Matrix<double> random_orthonormal(Index rows, Index cols, std::uint64_t seed) {
  const SingleThreadScope single_thread;  // see reorthonormalise
  Rng rng(seed);
  const Eigen::HouseholderQR<Matrix<double>> qr(rng.normal_matrix<double>(rows, cols));
  return qr.householderQ() * Matrix<double>::Identity(rows, cols);
}

// R_T ... R_1 of one pass, rescaled after every factor so that it stays representable: the
// product is exp(log_scale) * scaled. With Q_0 spanning the whole input space (k = n) its
// singular values are exactly those of P; with fewer columns, those of P on span(Q_0).
class ScaledTriangularProduct {
 public:
  explicit ScaledTriangularProduct(Index k) : scaled_(Matrix<double>::Identity(k, k)) {}

  void absorb(const Matrix<double>& r) {
    scaled_ = r.triangularView<Eigen::Upper>() * scaled_;
    const double largest = scaled_.cwiseAbs().maxCoeff();
    if (largest > 0.0 && std::isfinite(largest)) {
      scaled_ /= largest;
      log_scale_ += std::log(largest);
    } else {
      valid_ = false;
    }
  }

  // The singular values of the accumulated product where they can be trusted, the accumulated
  // diagonal (`diagonal_logs`, one per column) elsewhere. Jacobi SVD keeps high relative accuracy
  // on the graded, nearly diagonal matrices the passes converge to; values more than 12 decades
  // below the largest have lost their digits to the rescaling and fall back to the diagonal,
  // exact in the limit because the passes separate such values fast.
  std::vector<double> log_singular_values(std::vector<double> diagonal_logs) const {
    std::sort(diagonal_logs.begin(), diagonal_logs.end(), std::greater<>());
    if (!valid_) return diagonal_logs;
    const Eigen::JacobiSVD<Matrix<double>> svd(scaled_);
    const Vector<double>& sigma = svd.singularValues();
    for (Index i = 0; i < sigma.size(); ++i) {
      if (sigma(i) > 1e-12 * sigma(0)) {
        diagonal_logs[static_cast<std::size_t>(i)] = std::log(sigma(i)) + log_scale_;
      }
    }
    std::sort(diagonal_logs.begin(), diagonal_logs.end(), std::greater<>());
    return diagonal_logs;
  }

 private:
  Matrix<double> scaled_;
  double log_scale_ = 0.0;
  bool valid_ = true;
};

// Q <- orthonormal basis of z's columns (in order); log_stretch += log |R_ii|; the R factor is
// copied to `r` when one is given. On one thread whatever --threads says: Eigen's QR of
// widths 64 to 1,024 runs 1.1 to 2.3 times slower on two threads, its panel updates being too
// small to split (docs/performance.md).
void reorthonormalise(const Matrix<double>& z, Matrix<double>& q, std::vector<double>& log_stretch,
                      Matrix<double>* r = nullptr) {
  const SingleThreadScope single_thread;
  const Eigen::HouseholderQR<Matrix<double>> qr(z);
  const Index k = z.cols();
  for (Index i = 0; i < k; ++i) {
    log_stretch[static_cast<std::size_t>(i)] += std::log(std::abs(qr.matrixQR()(i, i)));
  }
  q = qr.householderQ() * Matrix<double>::Identity(z.rows(), k);
  if (r != nullptr) *r = qr.matrixQR().topRows(k);
}

// Equal infinities (a direction the product kills: a dead ReLU layer) count as agreeing; NaN (no
// previous pass yet) agrees with nothing.
double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    const double difference = std::abs(a[i] - b[i]);
    if (std::isnan(difference)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, difference);
  }
  return worst;
}

void report(const ChainProgress& progress, Index done, Index total) {
  if (progress) progress(done, total);
}

// The summed log stretches of `factors` factors as exponents per factor, descending.
LyapunovSpectrum exponents_per_factor(const std::vector<double>& log_stretch, Index factors,
                                      Index qr_count) {
  LyapunovSpectrum result;
  result.factors = factors;
  result.qr_count = qr_count;
  result.exponents.reserve(log_stretch.size());
  for (double s : log_stretch) result.exponents.push_back(s / static_cast<double>(factors));
  std::sort(result.exponents.begin(), result.exponents.end(), std::greater<>());
  return result;
}

}  // namespace

LyapunovSpectrum lyapunov_spectrum(const JacobianChain& chain, Index k, std::uint64_t seed,
                                   const ChainProgress& progress) {
  k = checked_block_width(chain, k, "Lyapunov spectrum");
  Matrix<double> q = random_orthonormal(chain.input_size(0), k, seed);
  Matrix<double> z;
  std::vector<double> log_stretch(static_cast<std::size_t>(k), 0.0);
  const Index length = chain.length();
  for (Index l = 0; l < length; ++l) {
    chain.apply(l, q, z);
    reorthonormalise(z, q, log_stretch);
    report(progress, l + 1, length);
  }
  return exponents_per_factor(log_stretch, length, length);
}

namespace {

// The spread of a block's stretches: the largest log |R_ii| less the smallest. Infinite when the
// block killed a direction (a dead ReLU layer).
double log_spread(const std::vector<double>& block_logs) {
  const auto [lowest, highest] = std::minmax_element(block_logs.begin(), block_logs.end());
  if (!std::isfinite(*lowest) || !std::isfinite(*highest)) {
    return std::numeric_limits<double>::infinity();
  }
  return *highest - *lowest;
}

// How many factors the next block may hold, from the last block's stretches log |R_ii| over
// `factors` factors: its spread per factor times the block stays within max_spread, and its
// largest |log stretch| within the range a double holds with room to spare.
Index next_block_length(const std::vector<double>& block_logs, Index factors, double max_spread) {
  constexpr Index kLongestBlock = 64;
  constexpr double kMaxLogMagnitude = 300.0;
  const double per_factor = static_cast<double>(factors);
  const double spread = log_spread(block_logs) / per_factor;
  if (!std::isfinite(spread)) return 1;
  double magnitude = 0.0;
  for (double s : block_logs) magnitude = std::max(magnitude, std::abs(s) / per_factor);
  double length = static_cast<double>(kLongestBlock);
  if (spread > 0.0) length = std::min(length, max_spread / spread);
  if (magnitude > 0.0) length = std::min(length, kMaxLogMagnitude / magnitude);
  return std::max<Index>(1, static_cast<Index>(length));
}

// Pushes q once through the chain, J_1 first (forward) or J_T^T first (transpose), with a QR
// after each block of factors: log_stretch += the blocks' log |R_ii|, and each block's R goes to
// `product` when one is given. A block holds as many factors as keep its stretches within
// e^max_block_log_spread of each other, predicted from the block before (the first holds one);
// one that spread beyond the prediction by more than e^6 (a factor that happened to stretch far
// more unevenly) is done again, shorter. Returns the number of QRs.
Index blocked_pass(const JacobianChain& chain, bool transpose, double max_block_log_spread,
                   Matrix<double>& q, std::vector<double>& log_stretch,
                   ScaledTriangularProduct* product, const ChainProgress& progress) {
  const Index length = chain.length();
  const auto apply = [&](Index step, const Matrix<double>& in, Matrix<double>& out) {
    if (transpose) {
      chain.apply_transpose(length - 1 - step, in, out);
    } else {
      chain.apply(step, in, out);
    }
  };
  Matrix<double> z, applied, q_next, r;
  std::vector<double> block_logs(static_cast<std::size_t>(q.cols()), 0.0);
  const double redo_spread = max_block_log_spread + 6.0;
  Index block = 1;
  Index qr_count = 0;
  for (Index step = 0; step < length;) {
    const Index end = std::min(length, step + block);
    apply(step, q, z);
    for (Index f = step + 1; f < end; ++f) {
      apply(f, z, applied);
      z.swap(applied);
    }
    std::fill(block_logs.begin(), block_logs.end(), 0.0);
    reorthonormalise(z, q_next, block_logs, product != nullptr ? &r : nullptr);
    ++qr_count;
    if (end - step > 1 && log_spread(block_logs) > redo_spread) {
      block = (end - step) / 2;
      continue;
    }
    q.swap(q_next);
    for (std::size_t i = 0; i < block_logs.size(); ++i) log_stretch[i] += block_logs[i];
    if (product != nullptr) product->absorb(r);
    block = next_block_length(block_logs, end - step, max_block_log_spread);
    step = end;
    report(progress, step, length);
  }
  return qr_count;
}

// The block spread at which a block's rounding, about eps e^spread in the log of its weakest
// stretch, stays ten thousand times below `tolerance` (a pass holds many blocks, and the passes
// compare their results to `tolerance`). Zero when no spread is small enough: then only factors
// that stretch every direction alike share a block.
double block_log_spread_for(double tolerance) {
  const double spread = std::log(tolerance / (1e4 * std::numeric_limits<double>::epsilon()));
  return std::isfinite(spread) ? std::max(0.0, spread) : 0.0;
}

}  // namespace

LyapunovSpectrum lyapunov_spectrum_blocked(const JacobianChain& chain, Index k, std::uint64_t seed,
                                           double max_block_log_spread,
                                           const ChainProgress& progress) {
  k = checked_block_width(chain, k, "Lyapunov spectrum");
  if (!(max_block_log_spread > 0.0)) {
    throw_bad_input("Lyapunov spectrum: the block's log spread must be positive");
  }
  Matrix<double> q = random_orthonormal(chain.input_size(0), k, seed);
  std::vector<double> log_stretch(static_cast<std::size_t>(k), 0.0);
  const Index qr_count = blocked_pass(chain, /*transpose=*/false, max_block_log_spread, q,
                                      log_stretch, nullptr, progress);
  return exponents_per_factor(log_stretch, chain.length(), qr_count);
}

ProductSingularValues product_singular_values(const JacobianChain& chain, Index k,
                                              std::uint64_t seed, int max_passes, double tolerance,
                                              const ChainProgress& progress) {
  k = checked_block_width(chain, k, "product singular values");
  if (max_passes < 1) throw_bad_input("product singular values: max_passes must be >= 1");
  Matrix<double> q = random_orthonormal(chain.input_size(0), k, seed);
  const double max_block_log_spread = block_log_spread_for(tolerance);
  ProductSingularValues result;
  std::vector<double> previous(static_cast<std::size_t>(k),
                               std::numeric_limits<double>::quiet_NaN());
  // Odd passes go through P (input side to output side), even passes back through P^T.
  for (int pass = 1; pass <= max_passes; ++pass) {
    std::vector<double> log_stretch(static_cast<std::size_t>(k), 0.0);
    ScaledTriangularProduct r_total(k);
    const bool transpose = pass % 2 == 0;
    result.qr_count +=
        blocked_pass(chain, transpose, max_block_log_spread, q, log_stretch, &r_total, {});
    report(progress, pass, max_passes);
    std::vector<double> estimate = r_total.log_singular_values(std::move(log_stretch));
    result.passes = pass;
    result.last_change = max_difference(estimate, previous);
    result.log_singular_values = estimate;
    if (result.last_change <= tolerance) {
      result.converged = true;
      break;
    }
    previous = std::move(estimate);
  }
  return result;
}

namespace {

// The running log-norm of a vector pushed through `apply` factor by factor, renormalised at each
// step so that its norm stays 1 whatever the product does.
std::vector<double> log_growth(const JacobianChain& chain, const Vector<double>& start,
                               bool transpose) {
  const Index length = chain.length();
  const double norm0 = start.norm();
  if (!(norm0 > 0.0) || !std::isfinite(norm0)) {
    throw_bad_input("log growth: the starting vector must be finite and non-zero");
  }
  Matrix<double> v = start / norm0;
  Matrix<double> next;
  std::vector<double> growth(static_cast<std::size_t>(length), 0.0);
  double total = 0.0;
  for (Index step = 0; step < length; ++step) {
    const Index l = transpose ? length - 1 - step : step;
    if (transpose) {
      chain.apply_transpose(l, v, next);
    } else {
      chain.apply(l, v, next);
    }
    const double norm = next.norm();
    total += std::log(norm);
    growth[static_cast<std::size_t>(l)] = total;
    if (!(norm > 0.0) || !std::isfinite(norm)) {
      // The vector died (or blew up): every later entry stays at this total.
      for (Index rest = step + 1; rest < length; ++rest) {
        growth[static_cast<std::size_t>(transpose ? length - 1 - rest : rest)] = total;
      }
      break;
    }
    v = next / norm;
  }
  return growth;
}

}  // namespace

std::vector<double> backward_log_growth(const JacobianChain& chain, const Vector<double>& g) {
  if (chain.length() > 0 && g.size() != chain.output_size(chain.length() - 1)) {
    throw_bad_input("log growth: the gradient has {} entries, the chain's output {}", g.size(),
                    chain.output_size(chain.length() - 1));
  }
  return log_growth(chain, g, /*transpose=*/true);
}

std::vector<double> forward_log_growth(const JacobianChain& chain, const Vector<double>& v) {
  if (chain.length() > 0 && v.size() != chain.input_size(0)) {
    throw_bad_input("log growth: the vector has {} entries, the chain's input {}", v.size(),
                    chain.input_size(0));
  }
  return log_growth(chain, v, /*transpose=*/false);
}

}  // namespace gradscope
