#include "gradscope/probe/gradient_probe.hpp"

#include <fmt/format.h>

#include <cmath>

#include "gradscope/core/norms.hpp"
#include "gradscope/nn/activation.hpp"

namespace gradscope {

namespace {

struct WeightStats {
  double norm = 0.0;       // ||W||
  double grad_norm = 0.0;  // ||dW||
  double distance = 0.0;   // ||W - W0||
};

// The three norms in one pass, column by column, so that W, dW and W0 are each read once (the
// probe runs on every observed step, and W0 comes from far in the cache). Falls back to the
// separate stable norms when a sum left the range where nothing can have under- or overflowed.
template <typename Scalar>
WeightStats weight_stats(const Matrix<Scalar>& w, const Matrix<Scalar>& dw,
                         const Matrix<Scalar>& w0) {
  double norm = 0.0, grad = 0.0, distance = 0.0;
  for (Index j = 0; j < w.cols(); ++j) {
    norm += static_cast<double>(w.col(j).squaredNorm());
    grad += static_cast<double>(dw.col(j).squaredNorm());
    distance += static_cast<double>((w.col(j) - w0.col(j)).squaredNorm());
  }
  constexpr double kLow = 1e-30, kHigh = 1e30;
  const auto safe = [](double sum) { return sum == 0.0 || (sum > kLow && sum < kHigh); };
  WeightStats stats;
  stats.norm = safe(norm) ? std::sqrt(norm) : stable_norm<Scalar>(w);
  stats.grad_norm = safe(grad) ? std::sqrt(grad) : stable_norm<Scalar>(dw);
  stats.distance = safe(distance) ? std::sqrt(distance) : stable_distance<Scalar>(w, w0);
  return stats;
}

}  // namespace

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
    record.name = fmt::format("{}", group.first_child);
    record.kind = body.layer(group.first_child).kind();
    record.activation = group.activation_child >= 0
                            ? std::string(body.layer(group.activation_child).kind())
                            : std::string("identity");
    if (!group.has_params) continue;
    Weights& w = weights_[g];
    for (Param<Scalar>& p : body.layer(group.first_child).params()) {
      if (p.name == "weight" && w.weight.value == nullptr) {
        w.weight = p;
      } else {
        w.others.push_back(p);
      }
    }
    if (w.weight.value == nullptr) {  // no "weight": the first parameter stands in for it
      w.weight = w.others.front();
      w.others.erase(w.others.begin());
    }
    w.initial = *w.weight.value;
    w.initial_norm = stable_norm<Scalar>(w.initial);
  }
}

template <typename Scalar>
void GradientProbe<Scalar>::after_layer_backward(const LayerGradientEvent<Scalar>& event) {
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

  if (event.index == group.first_child && group.has_params) {
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
