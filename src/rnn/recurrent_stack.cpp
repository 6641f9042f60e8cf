#include "gradscope/rnn/recurrent_stack.hpp"

#include <fmt/format.h>

#include "gradscope/core/error.hpp"

namespace gradscope {

template <typename Scalar>
RecurrentStack<Scalar>::RecurrentStack(CellKind kind, Index input_size, Index hidden_size,
                                       Index num_layers) {
  if (num_layers < 1) throw_bad_input("a recurrent stack needs >= 1 layer, got {}", num_layers);
  for (Index k = 0; k < num_layers; ++k) {
    add(make_recurrent_layer<Scalar>(kind, k == 0 ? input_size : hidden_size, hidden_size));
  }
}

template <typename Scalar>
RecurrentStack<Scalar>::RecurrentStack(const RecurrentStack& other) {
  for (const auto& layer : other.layers_) layers_.push_back(layer->clone());
}

template <typename Scalar>
RecurrentStack<Scalar>& RecurrentStack<Scalar>::operator=(const RecurrentStack& other) {
  if (this != &other) *this = RecurrentStack(other);
  return *this;
}

template <typename Scalar>
void RecurrentStack<Scalar>::add(std::unique_ptr<RecurrentLayer<Scalar>> layer) {
  GRADSCOPE_CHECK(layer != nullptr, "recurrent stack: cannot add a null layer");
  if (!layers_.empty() && layer->input_size() != layers_.back()->hidden_size()) {
    throw_bad_input("recurrent stack: layer {} takes {} inputs but the layer below has {} units",
                    layers_.size(), layer->input_size(), layers_.back()->hidden_size());
  }
  layers_.push_back(std::move(layer));
}

template <typename Scalar>
Index RecurrentStack<Scalar>::input_size() const {
  GRADSCOPE_CHECK(!layers_.empty(), "recurrent stack: no layers");
  return layers_.front()->input_size();
}

template <typename Scalar>
Index RecurrentStack<Scalar>::output_size() const {
  GRADSCOPE_CHECK(!layers_.empty(), "recurrent stack: no layers");
  return layers_.back()->hidden_size();
}

template <typename Scalar>
std::vector<RecurrentState<Scalar>> RecurrentStack<Scalar>::zero_states(Index batch) const {
  std::vector<RecurrentState<Scalar>> states;
  states.reserve(layers_.size());
  for (const auto& layer : layers_) states.push_back(layer->zero_state(batch));
  return states;
}

template <typename Scalar>
std::vector<Param<Scalar>> RecurrentStack<Scalar>::params() {
  std::vector<Param<Scalar>> result;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    for (Param<Scalar>& p : layers_[k]->params()) {
      p.name = fmt::format("{}_l{}", p.name, k);
      result.push_back(std::move(p));
    }
  }
  return result;
}

template <typename Scalar>
void RecurrentStack<Scalar>::zero_grad() {
  for (auto& layer : layers_) layer->zero_grad();
}

template class RecurrentStack<float>;
template class RecurrentStack<double>;

}  // namespace gradscope
