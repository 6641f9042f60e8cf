#include "gradscope/probe/weight_probe.hpp"

#include <cmath>

#include "gradscope/core/norms.hpp"
#include "gradscope/probe/weight_stats.hpp"

namespace gradscope {

template <typename Scalar>
void WeightProbe<Scalar>::track(int index, std::string name, std::string kind,
                                const Param<Scalar>& weight) {
  Tracked tracked{weight, *weight.value, stable_norm<Scalar>(*weight.value)};
  tracked_.push_back(std::move(tracked));
  LayerRecord record;
  record.index = index;
  record.name = std::move(name);
  record.kind = std::move(kind);
  records_.push_back(std::move(record));
}

template <typename Scalar>
void WeightProbe<Scalar>::measure() {
  for (std::size_t i = 0; i < tracked_.size(); ++i) {
    const Tracked& t = tracked_[i];
    const WeightStats stats = weight_stats(*t.weight.value, *t.weight.grad, t.initial);
    LayerRecord& record = records_[i];
    record.weight_norm = stats.norm;
    record.weight_grad_norm = stats.grad_norm;
    record.rel_dist_init = t.initial_norm > 0 ? stats.distance / t.initial_norm : 0.0;
    record.nonfinite = !std::isfinite(stats.norm) || !std::isfinite(stats.grad_norm);
    record.update_ratio.reset();
  }
}

template <typename Scalar>
void WeightProbe<Scalar>::record_updates(const std::vector<Param<Scalar>>& params,
                                         const std::vector<double>& update_norms) {
  for (std::size_t i = 0; i < tracked_.size(); ++i) {
    for (std::size_t p = 0; p < params.size() && p < update_norms.size(); ++p) {
      if (params[p].value != tracked_[i].weight.value) continue;
      const double before = records_[i].weight_norm;
      records_[i].update_ratio = before > 0 ? update_norms[p] / before : 0.0;
    }
  }
}

template class WeightProbe<float>;
template class WeightProbe<double>;

}  // namespace gradscope
