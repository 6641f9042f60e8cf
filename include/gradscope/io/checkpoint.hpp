// Checkpoints: a model's parameters (and BatchNorm's buffers) to and from safetensors, under
// PyTorch's names and in PyTorch's layouts, so weights move between the two unchanged.
//
// A Param's matrix is stored as the PyTorch tensor: (rows, cols) weights as 2-D, (n, 1) biases as
// 1-D (n); a 1 x 1 learnable scalar (a residual block's alpha) as 2-D (1, 1). BatchNorm's
// running_mean/running_var are 1-D, num_batches_tracked a 0-D I64 scalar (as torch saves it).
#pragma once

#include <string>
#include <vector>

#include "gradscope/io/safetensors.hpp"
#include "gradscope/nn/layer.hpp"

namespace gradscope {

// Loads every parameter and buffer by name, with the shapes the model has. Bad-input Error,
// naming the file and tensor, for a missing tensor, a shape that differs, a non-finite value, or
// (when `allow_extra` is false) a tensor in the file that the model does not have.
template <typename Scalar>
void load_parameters(const Safetensors& file, const std::vector<Param<Scalar>>& params,
                     const std::vector<Buffer<Scalar>>& buffers, bool allow_extra = false);

// Adds the parameters' values (or, with `gradients`, their gradients) to `writer`.
template <typename Scalar>
void add_parameters(SafetensorsWriter& writer, const std::vector<Param<Scalar>>& params,
                    bool gradients = false);
// Adds the buffers (running statistics) to `writer`.
template <typename Scalar>
void add_buffers(SafetensorsWriter& writer, const std::vector<Buffer<Scalar>>& buffers);

}  // namespace gradscope
