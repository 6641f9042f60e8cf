#include "gradscope/analysis/jacobian_chain.hpp"

#include <algorithm>

#include "gradscope/core/error.hpp"

namespace gradscope {

Matrix<double> JacobianChain::factor(Index l) const {
  Matrix<double> out;
  apply(l, Matrix<double>::Identity(input_size(l), input_size(l)), out);
  return out;
}

Index JacobianChain::min_width() const {
  if (length() == 0) return 0;
  Index width = input_size(0);
  for (Index l = 0; l < length(); ++l) width = std::min(width, output_size(l));
  return width;
}

ExplicitChain::ExplicitChain(std::vector<Matrix<double>> factors) : factors_(std::move(factors)) {
  for (std::size_t l = 1; l < factors_.size(); ++l) {
    if (factors_[l].cols() != factors_[l - 1].rows()) {
      throw_bad_input("Jacobian chain: factor {} is {}x{} but factor {} gives {} outputs", l,
                      factors_[l].rows(), factors_[l].cols(), l - 1, factors_[l - 1].rows());
    }
  }
}

void ExplicitChain::apply(Index l, const Matrix<double>& v, Matrix<double>& out) const {
  out.noalias() = at(l) * v;
}

void ExplicitChain::apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const {
  out.noalias() = at(l).transpose() * v;
}

}  // namespace gradscope
