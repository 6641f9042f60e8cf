// Softmax cross-entropy over class logits, PyTorch's nn.CrossEntropyLoss(reduction="mean").
//
//   s_j = softmax(p_j) (per sample j, computed with the max subtracted)
//   L   = -(1/m) sum_j log s_j[label_j]            p: (classes, m batch)
//   dp  = (1/m) (s - onehot(label))
// A negative label marks a sample with no target (PyTorch's ignore_index): m then counts only
// the labelled samples, and an unlabelled sample's column of dp is zero.
#pragma once

#include "gradscope/nn/loss.hpp"

namespace gradscope {

template <typename Scalar>
class CrossEntropyLoss final : public Loss<Scalar> {
 public:
  std::string_view name() const override { return "cross_entropy"; }
  double evaluate(ConstMatrixRef<Scalar> prediction, const Targets<Scalar>& targets,
                  MatrixRef<Scalar> dprediction) const override;
};

// Index of the largest logit per column (the predicted class).
template <typename Scalar>
std::vector<int> argmax_per_column(ConstMatrixRef<Scalar> logits);

}  // namespace gradscope
