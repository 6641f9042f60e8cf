// A task is where batches come from: a training stream, a fixed test set, and the loss to use.
#pragma once

#include <string>
#include <string_view>

#include "gradscope/nn/loss.hpp"

namespace gradscope {

template <typename Scalar>
struct Batch {
  Matrix<Scalar> x;  // (inputs, batch)
  Targets<Scalar> targets;
  Index size() const { return x.cols(); }
};

template <typename Scalar>
class Task {
 public:
  virtual ~Task() = default;
  virtual std::string_view name() const = 0;
  virtual Index input_size() const = 0;
  virtual Index output_size() const = 0;  // regression outputs, or number of classes
  virtual LossKind loss() const = 0;
  bool is_classification() const { return loss() == LossKind::kCrossEntropy; }
  // Fills `batch` with the next `size` training samples (resizing it; reuses its storage).
  virtual void next_batch(Index size, Batch<Scalar>& batch) = 0;
  // A fixed held-out set, the same for every call.
  virtual const Batch<Scalar>& test_set() const = 0;
};

}  // namespace gradscope
