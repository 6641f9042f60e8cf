// The workload constructors behind make_workload (one file each in src/workloads/).
#pragma once

#include <memory>

#include "gradscope/optim/optimizer.hpp"
#include "gradscope/rnn/recurrent_layer.hpp"
#include "gradscope/workloads/workload.hpp"

namespace gradscope {

// Plain SGD at lr 1e-3, as torch.optim.SGD(params, lr=1e-3) on PyTorch's side.
OptimizerSpec workload_sgd_spec();

std::unique_ptr<Workload> make_mlp_step_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_recurrent_step_workload(CellKind cell,
                                                       const WorkloadOptions& options);
std::unique_ptr<Workload> make_spectrum_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_gemm_workload(const WorkloadOptions& options);

}  // namespace gradscope
