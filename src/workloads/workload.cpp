#include "gradscope/workloads/workload.hpp"

#include "gradscope/core/error.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

bool is_recurrent(std::string_view name) {
  return name == "rnn" || name == "lstm" || name == "gru";
}

// Each option belongs to some workloads only: given to another, it would be silently ignored.
// The messages name the option fields (the CLI's flags carry the same names).
void check_options(std::string_view name, const WorkloadOptions& options) {
  if (options.depth != 0 && name != "mlp" && name != "spectrum") {
    throw_bad_input("{} workload: depth applies to mlp and spectrum only", name);
  }
  if (options.depth < 0) throw_bad_input("{} workload: depth must be positive", name);
  if (options.width != 0 && name == "gemm") {
    throw_bad_input("{} workload: width applies to mlp, spectrum, rnn, lstm and gru only", name);
  }
  if (options.width < 0) throw_bad_input("{} workload: width must be positive", name);
  if (options.batch != 0 && name != "mlp" && !is_recurrent(name)) {
    throw_bad_input("{} workload: batch applies to mlp, rnn, lstm and gru only", name);
  }
  if (options.batch < 0) throw_bad_input("{} workload: batch must be positive", name);
  if (options.steps != 0 && !is_recurrent(name)) {
    throw_bad_input("{} workload: steps apply to rnn, lstm and gru only", name);
  }
  if (options.steps < 0) throw_bad_input("{} workload: steps must be positive", name);
  if (options.per_step_grad && !is_recurrent(name)) {
    throw_bad_input("{} workload: per-step gradients apply to rnn, lstm and gru only", name);
  }
  if (options.size != 0 && name != "gemm")
    throw_bad_input("{} workload: size applies to gemm only", name);
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
  throw_bad_input("unknown workload '{}' (mlp, rnn, lstm, gru, spectrum, gemm)", name);
}

}  // namespace gradscope
