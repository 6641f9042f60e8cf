#include "gradscope/probe/gradient_probe.hpp"

#include <fmt/format.h>

#include <cmath>

#include "gradscope/core/norms.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/residual.hpp"
#include "gradscope/probe/weight_stats.hpp"

namespace gradscope {

template <typename Scalar>
GradientProbe<Scalar>::GradientProbe(Sequential<Scalar>& body) : groups_(group_layers(body)) {
  records_.resize(groups_.size());
  weights_.resize(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const LayerGroup& group = groups_[g];
    for (Index child = group.first_child; child <= group.last_child; ++child) {
      group_of_child_.push_back(static_cast<Index>(g));
    }
    LayerRecord& record = records_[g];
    record.index = static_cast<int>(g) + 1;
    const Index named_child = group.has_params() ? group.weight_child : group.first_child;
    record.name = fmt::format("{}", named_child);
    record.kind = body.layer(named_child).kind();
    record.activation = group.activation_child >= 0
                            ? std::string(body.layer(group.activation_child).kind())
                            : std::string("identity");
    if (!group.has_params()) continue;
    // The layer's weight matrix: "weight" (Dense), else a nested "*.weight" (a residual block's
    // first branch weight), else "weight_v" (weight norm's direction), else the first parameter.
    // Every other parameter of the group (biases, norm scales, alpha) is checked for NaN/Inf.
    Weights& w = weights_[g];
    std::vector<Param<Scalar>> own = body.layer(group.weight_child).params();
    const auto rank = [](const std::string& name) {
      if (name == "weight") return 0;
      if (name.ends_with(".weight")) return 1;
      if (name == "weight_v") return 2;
      return 3;
    };
    std::size_t chosen = 0;
    for (std::size_t i = 1; i < own.size(); ++i) {
      if (rank(own[i].name) < rank(own[chosen].name)) chosen = i;
    }
    w.weight = own[chosen];
    for (Index child = group.first_child; child <= group.last_child; ++child) {
      for (const Param<Scalar>& p : body.layer(child).params()) {
        if (p.value != w.weight.value) w.others.push_back(p);
      }
    }
    w.initial = *w.weight.value;
    w.initial_norm = stable_norm<Scalar>(w.initial);
  }
}

template <typename Scalar>
void GradientProbe<Scalar>::after_layer_backward(const LayerGradientEvent<Scalar>& event) {
  // Events from inside a residual block's branch (depth > 0) are not layers of this network;
  // the block's own event carries its skip/branch split.
  if (event.depth != 0) return;
  const auto g =
      static_cast<std::size_t>(group_of_child_.at(static_cast<std::size_t>(event.index)));
  const LayerGroup& group = groups_[g];
  LayerRecord& record = records_[g];

  if (event.index == group.last_child) {  // the first event of this layer in a backward pass
    const ColumnNorms norms = column_norms<Scalar>(event.dy);
    record.grad_norm = norms.mean;
    record.grad_norm_batch = norms.total;
    record.nonfinite = !std::isfinite(norms.total);  // any NaN/Inf entry makes the sum non-finite
    record.update_ratio.reset();
    record.saturated = 0.0;
    record.dead = 0.0;
    record.skip_grad_norm.reset();
    record.branch_grad_norm.reset();
  }

  if (event.index == group.activation_child) {
    const auto& activation = static_cast<const Activation<Scalar>&>(event.layer);
    const ActivationKind kind = activation.activation();
    const double entries = static_cast<double>(event.y.size());
    if (saturates(kind) && entries > 0) {
      // phi' < 1% of its maximum, counted from y without materialising phi'.
      const Scalar threshold = static_cast<Scalar>(0.01 * max_derivative(kind));
      const Index pinned =
          kind == ActivationKind::kTanh
              ? (event.y.array().square() > Scalar(1) - threshold).count()              // 1 - y^2
              : (event.y.array() * (Scalar(1) - event.y.array()) < threshold).count();  // y (1 - y)
      record.saturated = static_cast<double>(pinned) / entries;
    }
    if (kind == ActivationKind::kRelu && event.y.rows() > 0) {
      const Index alive = (event.y.array() > Scalar(0)).rowwise().any().count();
      record.dead = 1.0 - static_cast<double>(alive) / static_cast<double>(event.y.rows());
    }
  }

  if (const auto* block = dynamic_cast<const Residual<Scalar>*>(&event.layer)) {
    // dL/dh_{l-1} = skip part + branch part: the article's "direct path" in numbers.
    skip_.resize(event.dx.rows(), event.dx.cols());
    block->skip_gradient(event.y, event.dy, skip_);
    record.skip_grad_norm = mean_column_norm<Scalar>(skip_);
    skip_ = event.dx - skip_;
    record.branch_grad_norm = mean_column_norm<Scalar>(skip_);
  }

  if (event.index == group.weight_child) {
    const Weights& w = weights_[g];
    const WeightStats stats = weight_stats(*w.weight.value, *w.weight.grad, w.initial);
    record.weight_norm = stats.norm;
    record.weight_grad_norm = stats.grad_norm;
    record.rel_dist_init = w.initial_norm > 0 ? stats.distance / w.initial_norm : 0.0;
    bool finite = std::isfinite(record.weight_norm) && std::isfinite(record.weight_grad_norm);
    for (const Param<Scalar>& p : w.others) {
      finite = finite && all_finite<Scalar>(*p.value) && all_finite<Scalar>(*p.grad);
    }
    record.nonfinite = record.nonfinite || !finite;
  }
}

template <typename Scalar>
void GradientProbe<Scalar>::record_updates(const std::vector<Param<Scalar>>& params,
                                           const std::vector<double>& update_norms) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const Matrix<Scalar>* w = weights_[g].weight.value;
    if (w == nullptr) continue;
    for (std::size_t i = 0; i < params.size() && i < update_norms.size(); ++i) {
      if (params[i].value != w) continue;
      const double before = records_[g].weight_norm;
      records_[g].update_ratio = before > 0 ? update_norms[i] / before : 0.0;
    }
  }
}

template <typename Scalar>
double GradientProbe<Scalar>::ratio_first_last() const {
  if (records_.empty()) return 1.0;
  return records_.front().grad_norm / records_.back().grad_norm;
}

template class GradientProbe<float>;
template class GradientProbe<double>;

}  // namespace gradscope
