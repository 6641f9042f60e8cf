// A stack of recurrent layers, torch.nn.RNN/LSTM/GRU with num_layers > 1: layer k's output
// sequence (H_k, T B) is layer k+1's input sequence. Each layer has its own state.
//
// Parameter names are PyTorch's: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
// weight_ih_l1, ... (layer by layer, in that order), so checkpoints map one to one.
// Running a stack over a sequence (BPTT, truncated BPTT) is unroller.hpp's job.
#pragma once

#include <memory>
#include <vector>

#include "gradscope/rnn/recurrent_layer.hpp"

namespace gradscope {

template <typename Scalar>
class RecurrentStack {
 public:
  RecurrentStack() = default;
  // num_layers layers of one cell kind, parameters at zero (see recurrent_init.hpp): layer 0 is
  // (input_size -> hidden_size), the others (hidden_size -> hidden_size).
  RecurrentStack(CellKind kind, Index input_size, Index hidden_size, Index num_layers);
  RecurrentStack(const RecurrentStack& other);
  RecurrentStack& operator=(const RecurrentStack& other);
  RecurrentStack(RecurrentStack&&) noexcept = default;
  RecurrentStack& operator=(RecurrentStack&&) noexcept = default;
  ~RecurrentStack() = default;

  // Appends a layer on top; its input size must be the current top's hidden size.
  void add(std::unique_ptr<RecurrentLayer<Scalar>> layer);

  Index size() const { return static_cast<Index>(layers_.size()); }
  RecurrentLayer<Scalar>& layer(Index k) { return *layers_.at(static_cast<std::size_t>(k)); }
  const RecurrentLayer<Scalar>& layer(Index k) const {
    return *layers_.at(static_cast<std::size_t>(k));
  }
  Index input_size() const;   // of layer 0
  Index output_size() const;  // hidden size of the top layer
  std::vector<RecurrentState<Scalar>> zero_states(Index batch) const;

  std::vector<Param<Scalar>> params();
  void zero_grad();

 private:
  std::vector<std::unique_ptr<RecurrentLayer<Scalar>>> layers_;
};

}  // namespace gradscope
