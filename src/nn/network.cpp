#include "gradscope/nn/network.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
const Matrix<Scalar>& Network<Scalar>::forward(ConstMatrixRef<Scalar> x) {
  input_ = x;
  output_.resize(body_.output_size(x.rows()), x.cols());
  body_.forward(input_, output_, saved_);
  return output_;
}

template <typename Scalar>
const Matrix<Scalar>& Network<Scalar>::backward(ConstMatrixRef<Scalar> dy,
                                                BackwardObserver<Scalar>* observer) {
  GRADSCOPE_CHECK(dy.rows() == output_.rows() && dy.cols() == output_.cols(),
                  "network: backward got dy of shape {}x{}, output is {}x{}", dy.rows(), dy.cols(),
                  output_.rows(), output_.cols());
  dinput_.resize(input_.rows(), input_.cols());
  body_.backward(input_, output_, saved_, dy, dinput_, observer);
  return dinput_;
}

template class Network<float>;
template class Network<double>;

}  // namespace gradscope
