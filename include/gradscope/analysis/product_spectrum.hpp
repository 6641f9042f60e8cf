// The spectrum of a long product P = J_T ... J_1, computed without ever forming P.
//
// A raw product of 10,000 Jacobians under- or overflows double long before its singular values
// can be read. Instead a block of orthonormal vectors Q is pushed through one factor at a time
// and re-orthonormalised: J_l Q_{l-1} = Q_l R_l (QR). The diagonal of R_l holds the stretch of
// each direction at this factor, so sum_l log |R_l,ii| is carried in log scale and never
// overflows (Benettin et al. 1980; Pennington et al. 2017 use it for deep networks).
//
//   lyapunov_spectrum        one forward pass: lambda_i = (1/T) sum_l log |R_l,ii|, the growth
//                            rates per factor (natural log), the top k or all of them.
//   product_singular_values  the singular values of P itself at finite T: alternating passes
//                            through P and P^T (subspace iteration on P^T P), each carried by
//                            QRs after blocks of factors. A pass also multiplies its R factors
//                            out, rescaled after each one: P Q_0 = Q_m (R_m ... R_1), so with
//                            k = all the singular values of that small triangular product are
//                            those of P.
//                            The passes grade it (directions of very different stretch separate
//                            by (sigma_{i+1}/sigma_i)^2 per pass), which keeps Jacobi SVD's
//                            relative accuracy; values beyond double's range come from the
//                            accumulated log |R_ii| instead.
//   backward_log_growth      what P^T does to one gradient vector, log ||.|| after every factor:
//                            the exact value the backward pass measures, in log scale.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "gradscope/analysis/jacobian_chain.hpp"

namespace gradscope {

// Called after each factor with (factors done, factors in all) — for progress bars.
using ChainProgress = std::function<void(Index, Index)>;

struct LyapunovSpectrum {
  Index factors = 0;
  std::vector<double> exponents;  // per factor, natural log, descending
  Index qr_count = 0;             // re-orthonormalisations done
};

// k = 0: all min_width() exponents. The starting directions are random (seeded); the exponents
// do not depend on them beyond O(1/T). Bad-input Error when k exceeds min_width().
LyapunovSpectrum lyapunov_spectrum(const JacobianChain& chain, Index k, std::uint64_t seed,
                                   const ChainProgress& progress = {});

// The same exponents for a fraction of the QRs: several factors are applied between two
// re-orthonormalisations, as many as keep the block's stretches within e^max_block_log_spread of
// each other (and within e^300 of 1). Rounding in the block's products costs the weakest
// direction about eps e^spread of its stretch, so the default e^24 keeps it near 6e-6 relative,
// and a Gaussian 256-wide tanh net (spread about 3.5 per factor) gets 6 factors per QR. The
// block length follows the spread per factor of the block before (the first block is one
// factor); a block that spread more than e^6 beyond that is done again, half as long, since one
// uneven factor can stretch far more than the average. Agrees with lyapunov_spectrum, its
// reference, to 1e-5 per exponent at width 64 (tests/analysis: 5e-6 measured). Wider nets spread
// more, and the rounding lands on their few weakest directions: the five weakest exponents differ
// by up to 4e-5 at width 128 and 2e-4 at width 256 (the spectrum workload's net), every other one
// by less than 1e-7 (tests/analysis, width 128).
inline constexpr double kDefaultMaxBlockLogSpread = 24.0;
LyapunovSpectrum lyapunov_spectrum_blocked(const JacobianChain& chain, Index k, std::uint64_t seed,
                                           double max_block_log_spread = kDefaultMaxBlockLogSpread,
                                           const ChainProgress& progress = {});

struct ProductSingularValues {
  std::vector<double> log_singular_values;  // natural log of the top k singular values of P
  int passes = 0;                           // passes through P and P^T, counted together
  bool converged = false;
  // The largest change of a log singular value between the last two passes (infinite after one
  // pass): how far from converged the values are when `converged` is false.
  double last_change = 0.0;
  Index qr_count = 0;  // re-orthonormalisations over all passes
};

// Stops when two successive passes agree to `tolerance` (absolute, in log) or after `max_passes`.
// Each pass takes blocks of factors between QRs as lyapunov_spectrum_blocked does, with the spread
// the tolerance allows: a block's rounding, about eps e^spread, stays ten thousand times below it.
// That is e^13 at 1e-6 (about 4 factors of a Gaussian tanh net; tests/analysis: 1e-9 from the
// per-factor route) and one factor per QR at the default 1e-12.
ProductSingularValues product_singular_values(const JacobianChain& chain, Index k,
                                              std::uint64_t seed, int max_passes = 200,
                                              double tolerance = 1e-12,
                                              const ChainProgress& progress = {});

// g_T = g, g_{l} = J_{l+1}^T g_{l+1}: entry l of the result is log ||g_l|| - log ||g_T|| for
// l = 0 .. T-1, so entry 0 is the log of the first/last gradient ratio over the whole chain.
std::vector<double> backward_log_growth(const JacobianChain& chain, const Vector<double>& g);
// v_0 = v, v_{l+1} = J_{l+1} v_l: entry l is log ||v_{l+1}|| - log ||v_0||.
std::vector<double> forward_log_growth(const JacobianChain& chain, const Vector<double>& v);

}  // namespace gradscope
