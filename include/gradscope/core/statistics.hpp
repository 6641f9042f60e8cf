// The few statistics several parts need: the median and a least-squares line.
#pragma once

#include <vector>

namespace gradscope {

// Median of the values (NaN for none; the mean of the middle two for an even count); takes a
// copy because it reorders.
double median(std::vector<double> values);

// Least-squares line y = slope x + intercept over the first min(|x|, |y|) points; slope 0 when the
// x values do not spread.
struct LineFit {
  double slope = 0.0;
  double intercept = 0.0;
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace gradscope
