// Optimisers update parameters from their accumulated gradients, with PyTorch's semantics.
//
// Every optimiser keeps its state per parameter POSITION: the list passed to step() must name
// the same parameters, in the same order and shapes, on every call (checked; a mismatch throws).
// State is sized lazily on the first step; later steps allocate nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/nn/layer.hpp"

namespace gradscope {

enum class OptimizerKind { kSgd, kAdam };
// "sgd" | "adam"; bad-input Error otherwise.
OptimizerKind parse_optimizer(const std::string& name);
std::string_view optimizer_name(OptimizerKind kind);

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 1e-3;
  double momentum = 0.0;      // sgd
  bool nesterov = false;      // sgd
  double beta1 = 0.9;         // adam
  double beta2 = 0.999;       // adam
  double eps = 1e-8;          // adam
  double weight_decay = 0.0;  // both: L2 added to the gradient, as torch.optim does
};

template <typename Scalar>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter from its .grad. The parameter list must name the same
  // parameters, in the same order and shapes, on every call (state is kept per position).
  // When `update_norms` is given it receives ||p_new - p_old||_F per parameter, taken from the
  // update as it is applied, so that the probe's update ratio needs no copy of the weights.
  void step(const std::vector<Param<Scalar>>& params, std::vector<double>* update_norms = nullptr) {
    begin_step(params, update_norms);
    for (std::size_t i = 0; i < params.size(); ++i) update(params, i, update_norms);
  }

  // step() in parts, for updating each parameter as soon as its gradient is final
  // (StepDuringBackward): begin_step() once, then update() once for every position, in any
  // order. The result is step()'s.
  void begin_step(const std::vector<Param<Scalar>>& params,
                  std::vector<double>* update_norms = nullptr) {
    if (update_norms != nullptr) update_norms->assign(params.size(), 0.0);
    prepare(params);
    positions_in_step_ = params.size();
  }
  void update(const std::vector<Param<Scalar>>& params, std::size_t i,
              std::vector<double>* update_norms = nullptr) {
    GRADSCOPE_CHECK(i < positions_in_step_ && params.size() == positions_in_step_,
                    "optimizer: update of parameter {} of {} outside a step begun for {}", i,
                    params.size(), positions_in_step_);
    const double norm = update_param(params[i], i, update_norms != nullptr);
    if (update_norms != nullptr) (*update_norms)[i] = norm;
  }

  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;

 protected:
  // Checks the list against the first step's, sizes the state on the first step and advances
  // per-step counters.
  virtual void prepare(const std::vector<Param<Scalar>>& params) = 0;
  // Updates the parameter at position i; returns ||p_new - p_old|| when want_norm, else 0.
  virtual double update_param(const Param<Scalar>& param, std::size_t i, bool want_norm) = 0;

 private:
  std::size_t positions_in_step_ = 0;
};

// Sgd or Adam as spec.kind says; the constructors reject values torch.optim rejects
// (negative lr, momentum, eps or weight_decay; betas outside [0, 1); nesterov without momentum)
// with a bad-input Error.
template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const OptimizerSpec& spec);

// The parameter list an optimiser saw on its first step. record_or_check() records it on the
// first call (and returns true) and afterwards checks that the list has the same length and
// shapes (returns false); it also checks that each value and grad exist and share a shape.
class ParamLayout {
 public:
  template <typename Scalar>
  bool record_or_check(std::string_view optimizer, const std::vector<Param<Scalar>>& params);

 private:
  bool recorded_ = false;
  std::vector<std::pair<Index, Index>> shapes_;  // (rows, cols) per position
};

}  // namespace gradscope
