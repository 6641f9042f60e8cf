#include "gradscope/optim/optimizer.hpp"

#include "gradscope/core/error.hpp"
#include "gradscope/optim/adam.hpp"
#include "gradscope/optim/sgd.hpp"

namespace gradscope {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  throw_bad_input("unknown optimizer '{}' (expected 'sgd' or 'adam')", name);
}

std::string_view optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "sgd" : "adam";
}

template <typename Scalar>
std::unique_ptr<Optimizer<Scalar>> make_optimizer(const OptimizerSpec& spec) {
  switch (spec.kind) {
    case OptimizerKind::kSgd:
      return std::make_unique<Sgd<Scalar>>(spec);
    case OptimizerKind::kAdam:
      return std::make_unique<Adam<Scalar>>(spec);
  }
  GRADSCOPE_CHECK(false, "make_optimizer: unhandled optimizer kind {}",
                  static_cast<int>(spec.kind));
  return nullptr;
}

template <typename Scalar>
bool ParamLayout::record_or_check(std::string_view optimizer,
                                  const std::vector<Param<Scalar>>& params) {
  for (const Param<Scalar>& param : params) {
    GRADSCOPE_CHECK(param.value != nullptr && param.grad != nullptr,
                    "{}: parameter '{}' has no value or no gradient", optimizer, param.name);
    GRADSCOPE_CHECK(
        param.value->rows() == param.grad->rows() && param.value->cols() == param.grad->cols(),
        "{}: parameter '{}' is {}x{} but its gradient is {}x{}", optimizer, param.name,
        param.value->rows(), param.value->cols(), param.grad->rows(), param.grad->cols());
  }
  if (!recorded_) {
    shapes_.clear();
    for (const Param<Scalar>& param : params) {
      shapes_.emplace_back(param.value->rows(), param.value->cols());
    }
    recorded_ = true;
    return true;
  }
  // Optimiser state is kept per position: a different list would update with another
  // parameter's moments.
  GRADSCOPE_CHECK(params.size() == shapes_.size(),
                  "{}: step() got {} parameters, but the first step had {}", optimizer,
                  params.size(), shapes_.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    GRADSCOPE_CHECK(
        params[i].value->rows() == shapes_[i].first && params[i].value->cols() == shapes_[i].second,
        "{}: parameter {} ('{}') is {}x{}, but was {}x{} on the first step", optimizer, i,
        params[i].name, params[i].value->rows(), params[i].value->cols(), shapes_[i].first,
        shapes_[i].second);
  }
  return false;
}

template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimizerSpec&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimizerSpec&);
template bool ParamLayout::record_or_check<float>(std::string_view,
                                                  const std::vector<Param<float>>&);
template bool ParamLayout::record_or_check<double>(std::string_view,
                                                   const std::vector<Param<double>>&);

}  // namespace gradscope
