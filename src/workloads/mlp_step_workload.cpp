// mlp: one training step of the article's deep tanh MLP, as `gradscope train` takes it.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "gradscope/core/memory.hpp"
#include "gradscope/core/norms.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/model/mlp.hpp"
#include "gradscope/nn/backward_observer.hpp"
#include "gradscope/nn/mse_loss.hpp"
#include "gradscope/nn/network.hpp"
#include "gradscope/optim/sgd.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

constexpr Index kDefaultDepth = 50;
constexpr Index kWidth = 256;
constexpr Index kOutputs = 10;
constexpr Index kBatch = 128;

// ||dL/dW|| of every Dense layer, taken as the backward pass leaves it, still in cache: what the
// gradient probe does, without the probe's other records.
class WeightGradNorms final : public BackwardObserver<float> {
 public:
  explicit WeightGradNorms(Sequential<float>& body) {
    for (Index c = 0; c < body.size(); ++c) {
      for (const Param<float>& p : body.layer(c).params()) {
        if (!p.vector) {
          child_grad.emplace(c, p.grad);
          norms.emplace(c, 0.0);
        }
      }
    }
  }
  void after_layer_backward(const LayerGradientEvent<float>& event) override {
    const auto grad = child_grad.find(event.index);
    if (event.depth == 0 && grad != child_grad.end()) {
      norms[event.index] = stable_norm<float>(*grad->second);
    }
  }
  std::map<Index, const Matrix<float>*> child_grad;
  std::map<Index, double> norms;  // by child index, input side first
};

class MlpStepWorkload final : public Workload {
 public:
  explicit MlpStepWorkload(const WorkloadOptions& options) : sgd_(workload_sgd_spec()) {
    spec_.inputs = spec_.width = kWidth;
    spec_.outputs = kOutputs;
    spec_.depth = options.depth > 0 ? options.depth : kDefaultDepth;
    spec_.activation = ActivationKind::kTanh;
    check_fits_in_memory(estimate_training_bytes(spec_, kBatch, sizeof(float)),
                         fmt::format("bench mlp --depth {}", spec_.depth));
    Rng rng(options.seed);
    network_ = Network<float>(build_mlp<float>(spec_, rng));
    x_ = rng.normal_matrix<float>(kWidth, kBatch);
    targets_.values = rng.normal_matrix<float>(kOutputs, kBatch);
    params_ = network_.params();
    for (const Param<float>& p : params_) {
      if (!p.vector) weights_.push_back(p);
    }
    grad_norms_ = std::make_unique<WeightGradNorms>(network_.body());
  }

  void run() override {
    network_.zero_grad();
    const Matrix<float>& out = network_.forward(x_);
    doutput_.resize(out.rows(), out.cols());
    loss_ = MseLoss<float>().evaluate(out, targets_, doutput_);
    network_.backward(doutput_, grad_norms_.get());
    sgd_.step(params_);
  }

  // Forward, dL/dx and dL/dW: three products of (out x in) by (in x batch) per layer.
  double flops() const override {
    double multiply_adds = 0.0;
    for (const Param<float>& w : weights_) {
      multiply_adds += static_cast<double>(w.value->size()) * static_cast<double>(kBatch);
    }
    return 6.0 * multiply_adds;
  }

  nlohmann::json parameters() const override {
    return {{"depth", spec_.depth}, {"width", kWidth}, {"batch", kBatch}, {"dtype", "float32"}};
  }

  nlohmann::json result() const override {
    return {{"loss", loss_},
            {"first_layer_grad_norm", grad_norms_->norms.begin()->second},
            {"last_layer_grad_norm", grad_norms_->norms.rbegin()->second}};
  }

 private:
  MlpSpec spec_;
  Network<float> network_;
  Sgd<float> sgd_;
  Matrix<float> x_;
  Targets<float> targets_;
  Matrix<float> doutput_;
  std::vector<Param<float>> params_;
  std::vector<Param<float>> weights_;
  std::unique_ptr<WeightGradNorms> grad_norms_;  // points into network_: built after it
  double loss_ = 0.0;
};

}  // namespace

std::unique_ptr<Workload> make_mlp_step_workload(const WorkloadOptions& options) {
  return std::make_unique<MlpStepWorkload>(options);
}

}  // namespace gradscope
