// The article's workloads as timed jobs: what `gradscope bench` measures and bench/compare sets
// against PyTorch (bench/torch_workloads.py does the same jobs the way a PyTorch user writes
// them). A workload builds its model and data once; run() is one repetition, the part timed.
// The sizes below are the defaults, the ones compared; WorkloadOptions changes them, for
// measuring how the cost grows.
//
//   mlp       one training step of a tanh MLP (depth 50, width 256, batch 128, float32): forward,
//             MSE, backward, per-layer gradient norms, SGD update
//   rnn lstm gru
//             one training step of a recurrent net (hidden 128, T = 200, batch 64, 2 inputs,
//             float32): linear head on the last step, MSE, clipping at 1.0, SGD; per_step_grad
//             also records ||dL/dh_t|| for every t
//   spectrum  every Lyapunov exponent of the end-to-end Jacobian of a tanh MLP (depth 100, width
//             256, float64, sigma_w^2 = 1, sigma_b^2 = 0.05): forward of one sample, then the
//             blocked QR route (analysis/product_spectrum.hpp)
//   gemm      one float32 matrix product (size x size) by the kernel every layer uses
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

// 0 = the workload's default, for every size.
struct WorkloadOptions {
  Index depth = 0;  // mlp, spectrum
  Index width = 0;  // mlp, spectrum: units per layer (256); rnn, lstm, gru: hidden units (128)
  Index batch = 0;  // mlp (128); rnn, lstm, gru (64)
  Index steps = 0;  // rnn, lstm, gru: T (200)
  Index size = 0;   // gemm; required
  bool per_step_grad = false;
  std::uint64_t seed = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // One repetition.
  virtual void run() = 0;
  // Floating-point operations of one repetition (2 per multiply-add), counted as
  // bench/torch_workloads.py counts them so that both sides' GFLOP/s compare.
  virtual double flops() const = 0;
  // The workload's sizes and settings, for the JSON line.
  virtual nlohmann::json parameters() const = 0;
  // What the last run computed that a reader may check (loss, exponents), for the JSON line.
  virtual nlohmann::json result() const = 0;
};

// "mlp", "rnn", "lstm", "gru", "spectrum", "gemm".
const std::vector<std::string>& workload_names();
// The gemm sizes measured when none is given: 256, 512, 1024, 2048.
const std::vector<Index>& gemm_sizes();
// Bad-input Error for an unknown name or an option the workload does not take.
std::unique_ptr<Workload> make_workload(std::string_view name, const WorkloadOptions& options);

}  // namespace gradscope
