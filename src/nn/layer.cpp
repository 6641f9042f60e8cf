#include "gradscope/nn/layer.hpp"

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
Matrix<Scalar> Layer<Scalar>::jacobian(ConstRef x_sample) const {
  return jacobian_by_vjp(*this, x_sample);
}

template <typename Scalar>
void Layer<Scalar>::zero_grad() {
  for (Param<Scalar>& p : params()) p.grad->setZero();
}

template <typename Scalar>
Matrix<Scalar> jacobian_by_vjp(const Layer<Scalar>& layer, ConstMatrixRef<Scalar> x_sample) {
  GRADSCOPE_CHECK(x_sample.cols() == 1, "jacobian: expected one sample, got {} columns",
                  x_sample.cols());
  // Per-sample Jacobians are evaluation-mode Jacobians (in training mode a BatchNorm sample's
  // output depends on the whole batch); the clone also keeps the layer's buffers untouched.
  std::unique_ptr<Layer<Scalar>> copy = layer.clone();
  copy->set_training(false);
  const Index in = x_sample.rows();
  const Index out = copy->output_size(in);
  Saved<Scalar> saved;
  Matrix<Scalar> y(out, 1);
  copy->forward(x_sample, y, saved);

  Matrix<Scalar> jac(out, in);
  Matrix<Scalar> dy = Matrix<Scalar>::Zero(out, 1);
  Matrix<Scalar> dx(in, 1);
  for (Index k = 0; k < out; ++k) {
    dy(k, 0) = Scalar(1);
    copy->backward(x_sample, y, saved, dy, dx);
    jac.row(k) = dx.transpose();
    dy(k, 0) = Scalar(0);
  }
  return jac;
}

template class Layer<float>;
template class Layer<double>;
template Matrix<float> jacobian_by_vjp<float>(const Layer<float>&, ConstMatrixRef<float>);
template Matrix<double> jacobian_by_vjp<double>(const Layer<double>&, ConstMatrixRef<double>);

}  // namespace gradscope
