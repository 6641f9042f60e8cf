// Which children of a Sequential make up the article's "layer l".
//
// A child with parameters starts a new layer; parameter-free children that follow it
// (activations) belong to it, so Dense + tanh is one layer whose output h_l is the tanh's output.
// Leading parameter-free children form a layer of their own.
#pragma once

#include <vector>

#include "gradscope/nn/sequential.hpp"

namespace gradscope {

struct LayerGroup {
  Index first_child = 0;  // the child holding the parameters (if any)
  Index last_child = 0;   // its output is h_l
  bool has_params = false;
  Index activation_child = -1;  // the Activation child in the group, or -1
};

template <typename Scalar>
std::vector<LayerGroup> group_layers(Sequential<Scalar>& body);

// The 0-based layer (group) index that owns child `child`.
Index group_of_child(const std::vector<LayerGroup>& groups, Index child);

}  // namespace gradscope
