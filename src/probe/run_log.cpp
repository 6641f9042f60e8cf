#include "gradscope/probe/run_log.hpp"

#include <fmt/format.h>

#include <cmath>

namespace gradscope {

RunLogWriter::RunLogWriter(const std::string& path)
    : file_(path, /*keep_bytes=*/0, fmt::format("run log {}", path)) {}

void RunLogWriter::write(const nlohmann::json& record) { file_.append(record.dump()); }

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json finite_or_null(const std::optional<double>& value) {
  return value ? finite_or_null(*value) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const LayerRecord& r) {
  nlohmann::json j = {
      {"index", r.index},
      {"name", r.name},
      {"kind", r.kind},
      {"activation", r.activation},
      {"grad_norm", finite_or_null(r.grad_norm)},
      {"grad_norm_batch", finite_or_null(r.grad_norm_batch)},
      {"weight_norm", finite_or_null(r.weight_norm)},
      {"weight_grad_norm", finite_or_null(r.weight_grad_norm)},
      {"rel_dist_init", finite_or_null(r.rel_dist_init)},
      {"update_ratio", finite_or_null(r.update_ratio)},
      {"saturated", r.saturated},
      {"dead", r.dead},
      {"nonfinite", r.nonfinite},
  };
  if (r.skip_grad_norm) j["skip_grad_norm"] = finite_or_null(*r.skip_grad_norm);
  if (r.branch_grad_norm) j["branch_grad_norm"] = finite_or_null(*r.branch_grad_norm);
  if (r.jacobian_spectral_norm) {
    j["jacobian_spectral_radius"] = finite_or_null(r.jacobian_spectral_radius);
    j["jacobian_spectral_norm"] = finite_or_null(*r.jacobian_spectral_norm);
  }
  return j;
}

namespace {

nlohmann::json finite_array(const std::vector<double>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (double v : values) array.push_back(finite_or_null(v));
  return array;
}

}  // namespace

nlohmann::json to_json(const TimeStepRecord& r) {
  nlohmann::json j = {{"layer", r.layer},
                      {"grad_norm", finite_array(r.grad_norm)},
                      {"activation_derivative", finite_array(r.activation_derivative)}};
  if (!r.cell_grad_norm.empty()) j["cell_grad_norm"] = finite_array(r.cell_grad_norm);
  if (!r.keep_gate.empty()) j["keep_gate"] = finite_array(r.keep_gate);
  return j;
}

nlohmann::json to_json(const StepRecord& r) {
  nlohmann::json j = {
      {"type", "step"},
      {"step", r.step},
      {"loss", finite_or_null(r.loss)},
      {"grad_norm", finite_or_null(r.grad_norm)},
      {"clipped", r.clipped},
      {"skipped", r.skipped},
      {"lr", r.lr},
      {"nonfinite",
       {{"loss", !r.loss_finite}, {"grad", !r.grad_finite}, {"weight", !r.weight_finite}}},
  };
  if (!r.first_nonfinite.empty()) j["first_nonfinite"] = r.first_nonfinite;
  if (!r.layers.empty()) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerRecord& layer : r.layers) layers.push_back(to_json(layer));
    j["layers"] = std::move(layers);
  }
  if (!r.time_steps.empty()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const TimeStepRecord& layer : r.time_steps) steps.push_back(to_json(layer));
    j["time_steps"] = std::move(steps);
  }
  return j;
}

nlohmann::json to_json(const EvalRecord& r) {
  nlohmann::json j = {{"type", "eval"}, {"step", r.step}, {"loss", finite_or_null(r.loss)}};
  if (r.accuracy) j["accuracy"] = *r.accuracy;
  return j;
}

}  // namespace gradscope
