#include "gradscope/nn/sequential.hpp"

#include <fmt/format.h>

#include "gradscope/core/error.hpp"
#include "gradscope/nn/residual.hpp"

namespace gradscope {

template <typename Scalar>
Sequential<Scalar>::Sequential(const Sequential& other) : Layer<Scalar>(other) {
  for (const auto& layer : other.layers_) layers_.push_back(layer->clone());
}

template <typename Scalar>
Sequential<Scalar>& Sequential<Scalar>::operator=(const Sequential& other) {
  if (this != &other) *this = Sequential(other);
  return *this;
}

template <typename Scalar>
void Sequential<Scalar>::add(std::unique_ptr<Layer<Scalar>> layer) {
  GRADSCOPE_CHECK(layer != nullptr, "sequential: cannot add a null layer");
  layers_.push_back(std::move(layer));
}

template <typename Scalar>
Index Sequential<Scalar>::output_size(Index input_size) const {
  Index size = input_size;
  for (const auto& layer : layers_) size = layer->output_size(size);
  return size;
}

template <typename Scalar>
void Sequential<Scalar>::forward(ConstRef x, Ref y, Saved<Scalar>& saved) const {
  const std::size_t n = layers_.size();
  if (n == 0) {
    y = x;
    return;
  }
  saved.tensors.resize(n - 1);
  saved.children.resize(n);
  const Index batch = x.cols();
  Index size = x.rows();
  for (std::size_t i = 0; i < n; ++i) {
    size = layers_[i]->output_size(size);
    ConstRef input = i == 0 ? x : ConstRef(saved.tensors[i - 1]);
    if (i + 1 == n) {
      layers_[i]->forward(input, y, saved.children[i]);
    } else {
      saved.tensors[i].resize(size, batch);
      layers_[i]->forward(input, saved.tensors[i], saved.children[i]);
    }
  }
}

template <typename Scalar>
void Sequential<Scalar>::backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy,
                                  Ref dx) {
  backward(x, y, saved, dy, dx, nullptr);
}

template <typename Scalar>
void Sequential<Scalar>::backward(ConstRef x, ConstRef y, const Saved<Scalar>& saved, ConstRef dy,
                                  Ref dx, BackwardObserver<Scalar>* observer) {
  const std::size_t n = layers_.size();
  if (n == 0) {
    dx = dy;
    return;
  }
  // g_i = dL/dh_i alternates between the two buffers; child i reads one and writes the other.
  int current = 0;
  for (std::size_t k = n; k-- > 0;) {
    ConstRef input = k == 0 ? x : ConstRef(saved.tensors[k - 1]);
    ConstRef output = k + 1 == n ? y : ConstRef(saved.tensors[k]);
    ConstRef doutput = k + 1 == n ? dy : ConstRef(gradient_buffers_[current]);
    Mat& next = gradient_buffers_[1 - current];
    if (k == 0) {
      backward_child(k, input, output, saved.children[k], doutput, dx, observer);
    } else {
      next.resize(input.rows(), input.cols());
      backward_child(k, input, output, saved.children[k], doutput, next, observer);
    }
    if (observer != nullptr) {
      ConstRef dinput = k == 0 ? ConstRef(dx) : ConstRef(next);
      observer->after_layer_backward(
          {static_cast<Index>(k), *layers_[k], input, output, doutput, dinput, 0, this});
    }
    current = 1 - current;
  }
}

template <typename Scalar>
void Sequential<Scalar>::backward_child(std::size_t k, ConstRef input, ConstRef output,
                                        const Saved<Scalar>& saved, ConstRef doutput, Ref dinput,
                                        BackwardObserver<Scalar>* observer) {
  Layer<Scalar>* child = layers_[k].get();
  if (observer != nullptr) {
    if (auto* residual = dynamic_cast<Residual<Scalar>*>(child)) {
      residual->backward(input, output, saved, doutput, dinput, observer);
      return;
    }
    if (auto* sequential = dynamic_cast<Sequential*>(child)) {
      NestedObserver<Scalar> nested(*observer);
      sequential->backward(input, output, saved, doutput, dinput, &nested);
      return;
    }
  }
  child->backward(input, output, saved, doutput, dinput);
}

template <typename Scalar>
std::vector<Param<Scalar>> Sequential<Scalar>::params() {
  std::vector<Param<Scalar>> result;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (Param<Scalar>& p : layers_[i]->params()) {
      p.name = fmt::format("{}.{}", i, p.name);
      result.push_back(std::move(p));
    }
  }
  return result;
}

template <typename Scalar>
std::vector<Buffer<Scalar>> Sequential<Scalar>::buffers() {
  std::vector<Buffer<Scalar>> result;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (Buffer<Scalar>& b : layers_[i]->buffers()) {
      b.name = fmt::format("{}.{}", i, b.name);
      result.push_back(std::move(b));
    }
  }
  return result;
}

template <typename Scalar>
void Sequential<Scalar>::set_training(bool training) {
  Layer<Scalar>::set_training(training);
  for (const auto& layer : layers_) layer->set_training(training);
}

template <typename Scalar>
void Sequential<Scalar>::release_grad() {
  for (const auto& layer : layers_) layer->release_grad();
}

template <typename Scalar>
bool Sequential<Scalar>::depends_on_mode() const {
  for (const auto& layer : layers_) {
    if (layer->depends_on_mode()) return true;
  }
  return false;
}

template <typename Scalar>
std::unique_ptr<Layer<Scalar>> Sequential<Scalar>::clone() const {
  return std::make_unique<Sequential>(*this);
}

template <typename Scalar>
typename Sequential<Scalar>::Mat Sequential<Scalar>::jacobian(ConstRef x_sample) const {
  bool any_training = false;
  for (const auto& layer : layers_) any_training = any_training || layer->training();
  if (any_training && depends_on_mode()) {
    // Per-sample Jacobians are evaluation-mode ones; the copy's forwards leave our buffers alone.
    Sequential copy(*this);
    copy.set_training(false);
    return copy.jacobian(x_sample);
  }
  Mat h = x_sample;
  Mat jac = Mat::Identity(x_sample.rows(), x_sample.rows());
  for (const auto& layer : layers_) {
    const Mat layer_jac = layer->jacobian(h);
    Mat next(layer->output_size(h.rows()), 1);
    Saved<Scalar> unused;
    layer->forward(h, next, unused);
    jac = layer_jac * jac;
    h = std::move(next);
  }
  return jac;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace gradscope
