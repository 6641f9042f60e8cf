#include "gradscope/probe/layer_grouping.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/nn/activation.hpp"

namespace gradscope {

template <typename Scalar>
std::vector<LayerGroup> group_layers(Sequential<Scalar>& body) {
  std::vector<LayerGroup> groups;
  for (Index i = 0; i < body.size(); ++i) {
    const bool has_params = !body.layer(i).params().empty();
    if (has_params || groups.empty()) {
      groups.push_back({i, i, has_params, -1});
    } else {
      groups.back().last_child = i;
    }
    if (dynamic_cast<const Activation<Scalar>*>(&body.layer(i)) != nullptr &&
        groups.back().activation_child < 0) {
      groups.back().activation_child = i;
    }
  }
  return groups;
}

Index group_of_child(const std::vector<LayerGroup>& groups, Index child) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (child >= groups[g].first_child && child <= groups[g].last_child) {
      return static_cast<Index>(g);
    }
  }
  GRADSCOPE_CHECK(false, "child {} belongs to no layer group", child);
}

template std::vector<LayerGroup> group_layers<float>(Sequential<float>&);
template std::vector<LayerGroup> group_layers<double>(Sequential<double>&);

}  // namespace gradscope
