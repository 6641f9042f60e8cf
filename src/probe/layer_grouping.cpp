#include "gradscope/probe/layer_grouping.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/nn/activation.hpp"

namespace gradscope {

bool is_weight_layer_kind(std::string_view kind) {
  return kind == "dense" || kind == "weight_norm" || kind == "residual";
}

namespace {

bool is_norm_kind(std::string_view kind) { return kind == "batch_norm" || kind == "layer_norm"; }

}  // namespace

template <typename Scalar>
std::vector<LayerGroup> group_layers(const Sequential<Scalar>& body) {
  std::vector<LayerGroup> groups;
  for (Index i = 0; i < body.size(); ++i) {
    const std::string_view kind = body.layer(i).kind();
    const bool next_is_weight =
        i + 1 < body.size() && is_weight_layer_kind(body.layer(i + 1).kind());
    if (is_weight_layer_kind(kind)) {
      // A pre-norm that opened a group without a weight layer yet: the weight layer joins it.
      const bool join = !groups.empty() && !groups.back().has_params() &&
                        groups.back().activation_child < 0 &&
                        is_norm_kind(body.layer(groups.back().last_child).kind());
      if (join) {
        groups.back().last_child = i;
        groups.back().weight_child = i;
      } else {
        groups.push_back({i, i, i, -1});
      }
    } else if (groups.empty() || (is_norm_kind(kind) && next_is_weight)) {
      groups.push_back({i, i, -1, -1});
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

template std::vector<LayerGroup> group_layers<float>(const Sequential<float>&);
template std::vector<LayerGroup> group_layers<double>(const Sequential<double>&);

}  // namespace gradscope
