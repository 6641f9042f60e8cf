#include "gradscope/nn/cross_entropy_loss.hpp"

#include <cmath>

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
double CrossEntropyLoss<Scalar>::evaluate(ConstMatrixRef<Scalar> prediction,
                                          const Targets<Scalar>& targets,
                                          MatrixRef<Scalar> dprediction) const {
  const Index classes = prediction.rows();
  const Index batch = prediction.cols();
  GRADSCOPE_CHECK(static_cast<Index>(targets.labels.size()) == batch,
                  "cross_entropy: {} labels for a batch of {}", targets.labels.size(), batch);
  // Negative labels mark samples without a target (PyTorch's ignore_index): the mean runs over
  // the others and the ignored columns get a zero gradient.
  Index counted = 0;
  for (const int label : targets.labels) counted += label >= 0;
  if (counted == 0) {
    dprediction.setZero();
    return 0.0;
  }
  const Scalar inv_count = Scalar(1) / static_cast<Scalar>(counted);
  double total = 0.0;
  for (Index j = 0; j < batch; ++j) {
    const int label = targets.labels[static_cast<std::size_t>(j)];
    if (label < 0) {
      dprediction.col(j).setZero();
      continue;
    }
    GRADSCOPE_CHECK(label < classes, "cross_entropy: label {} outside [0, {})", label, classes);
    const Scalar shift = prediction.col(j).maxCoeff();
    dprediction.col(j) = (prediction.col(j).array() - shift).exp().matrix();
    const Scalar sum = dprediction.col(j).sum();
    // -log softmax[label] = log(sum) - (p[label] - shift)
    total += static_cast<double>(std::log(sum) - (prediction(label, j) - shift));
    dprediction.col(j) *= inv_count / sum;
    dprediction(label, j) -= inv_count;
  }
  return total / static_cast<double>(counted);
}

template <typename Scalar>
std::vector<int> argmax_per_column(ConstMatrixRef<Scalar> logits) {
  std::vector<int> result(static_cast<std::size_t>(logits.cols()));
  for (Index j = 0; j < logits.cols(); ++j) {
    Index best = 0;
    logits.col(j).maxCoeff(&best);
    result[static_cast<std::size_t>(j)] = static_cast<int>(best);
  }
  return result;
}

template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template std::vector<int> argmax_per_column<float>(ConstMatrixRef<float>);
template std::vector<int> argmax_per_column<double>(ConstMatrixRef<double>);

}  // namespace gradscope
