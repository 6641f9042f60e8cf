// Which children of a Sequential make up the article's "layer l".
//
// Weight layers (Dense, WeightNorm, Residual) each start a layer. The parameter-free and
// normalising children that follow a weight layer (activations, a BatchNorm or LayerNorm placed
// after it) belong to it, so Dense + BatchNorm + tanh is one layer whose output h_l is the tanh's
// output. A normalising child directly before a weight layer (a "pre" norm) starts that weight
// layer's group instead. Leading children without a weight layer form a layer of their own.
#pragma once

#include <vector>

#include "gradscope/nn/sequential.hpp"

namespace gradscope {

struct LayerGroup {
  Index first_child = 0;        // the group's first child
  Index last_child = 0;         // its output is h_l
  Index weight_child = -1;      // the weight layer (Dense, WeightNorm, Residual), or -1
  Index activation_child = -1;  // the Activation child in the group, or -1
  bool has_params() const { return weight_child >= 0; }
};

// True for the kinds that start a layer: dense, weight_norm, residual.
bool is_weight_layer_kind(std::string_view kind);

template <typename Scalar>
std::vector<LayerGroup> group_layers(const Sequential<Scalar>& body);

// The 0-based layer (group) index that owns child `child`.
Index group_of_child(const std::vector<LayerGroup>& groups, Index child);

}  // namespace gradscope
