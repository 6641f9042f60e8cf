#include "gradscope/nn/mse_loss.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
double MseLoss<Scalar>::evaluate(ConstMatrixRef<Scalar> prediction, const Targets<Scalar>& targets,
                                 MatrixRef<Scalar> dprediction) const {
  const Matrix<Scalar>& t = targets.values;
  GRADSCOPE_CHECK(t.rows() == prediction.rows() && t.cols() == prediction.cols(),
                  "mse: targets are {}x{}, predictions {}x{}", t.rows(), t.cols(),
                  prediction.rows(), prediction.cols());
  const double count = static_cast<double>(prediction.size());
  dprediction = prediction - t;
  const double sum = dprediction.template cast<double>().squaredNorm();
  dprediction *= static_cast<Scalar>(2.0 / count);
  return sum / count;
}

template class MseLoss<float>;
template class MseLoss<double>;

}  // namespace gradscope
