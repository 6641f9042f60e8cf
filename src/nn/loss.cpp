#include "gradscope/nn/loss.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/nn/cross_entropy_loss.hpp"
#include "gradscope/nn/mse_loss.hpp"

namespace gradscope {

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::kMse;
  if (name == "cross_entropy" || name == "cross-entropy" || name == "ce") {
    return LossKind::kCrossEntropy;
  }
  throw_bad_input("unknown loss '{}' (expected mse, cross_entropy)", name);
}

template <typename Scalar>
std::unique_ptr<Loss<Scalar>> make_loss(LossKind kind) {
  if (kind == LossKind::kMse) return std::make_unique<MseLoss<Scalar>>();
  return std::make_unique<CrossEntropyLoss<Scalar>>();
}

template std::unique_ptr<Loss<float>> make_loss<float>(LossKind);
template std::unique_ptr<Loss<double>> make_loss<double>(LossKind);

}  // namespace gradscope
