#include "gradscope/workloads/workload.hpp"

#include "gradscope/core/error.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

bool is_recurrent(std::string_view name) {
  return name == "rnn" || name == "lstm" || name == "gru";
}

// Each option belongs to some workloads only: given to another, it would be silently ignored.
void check_options(std::string_view name, const WorkloadOptions& options) {
  if (options.depth != 0 && name != "mlp" && name != "spectrum") {
    throw_bad_input("bench {}: --depth is for mlp and spectrum", name);
  }
  if (options.depth < 0) throw_bad_input("bench {}: --depth must be positive", name);
  if (options.steps != 0 && !is_recurrent(name)) {
    throw_bad_input("bench {}: --steps is for rnn, lstm and gru", name);
  }
  if (options.steps < 0) throw_bad_input("bench {}: --steps must be positive", name);
  if (options.per_step_grad && !is_recurrent(name)) {
    throw_bad_input("bench {}: --per-step-grad is for rnn, lstm and gru", name);
  }
  if (options.size != 0 && name != "gemm") throw_bad_input("bench {}: --size is for gemm", name);
}

}  // namespace

OptimizerSpec workload_sgd_spec() {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.lr = 1e-3;
  return spec;
}

const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names = {"mlp", "rnn", "lstm", "gru", "spectrum", "gemm"};
  return names;
}

const std::vector<Index>& gemm_sizes() {
  static const std::vector<Index> sizes = {256, 512, 1024, 2048};
  return sizes;
}

std::unique_ptr<Workload> make_workload(std::string_view name, const WorkloadOptions& options) {
  check_options(name, options);
  if (name == "mlp") return make_mlp_step_workload(options);
  if (name == "rnn") return make_recurrent_step_workload(CellKind::kRnnTanh, options);
  if (name == "lstm") return make_recurrent_step_workload(CellKind::kLstm, options);
  if (name == "gru") return make_recurrent_step_workload(CellKind::kGru, options);
  if (name == "spectrum") return make_spectrum_workload(options);
  if (name == "gemm") return make_gemm_workload(options);
  throw_bad_input("bench: unknown workload '{}' (mlp, rnn, lstm, gru, spectrum, gemm)", name);
}

}  // namespace gradscope
