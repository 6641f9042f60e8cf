// Loss functions: a scalar L of a batch of predictions, and dL/d(prediction).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

// What a batch is compared against: regression values (outputs, batch), or one class label per
// sample for classification. A loss reads the member it needs.
template <typename Scalar>
struct Targets {
  Matrix<Scalar> values;
  std::vector<int> labels;
};

template <typename Scalar>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string_view name() const = 0;
  // Returns L for `prediction` (outputs, batch) and ASSIGNS dL/d(prediction) to `dprediction`
  // (same shape). L is accumulated in double.
  virtual double evaluate(ConstMatrixRef<Scalar> prediction, const Targets<Scalar>& targets,
                          MatrixRef<Scalar> dprediction) const = 0;
};

enum class LossKind { kMse, kCrossEntropy };
// "mse" or "cross_entropy" | "cross-entropy" | "ce"; bad-input Error otherwise.
LossKind parse_loss(const std::string& name);
template <typename Scalar>
std::unique_ptr<Loss<Scalar>> make_loss(LossKind kind);

}  // namespace gradscope
