// A product P = J_T ... J_2 J_1 of Jacobians, given factor by factor and never multiplied out.
//
// Factor 0 is J_1, the one applied first: nearest the input of a network, the earliest step of a
// recurrence. Only what a factor does to a block of vectors is asked for (J v and J^T v), so a
// chain can hold explicit matrices, or compute each factor's action from a network's weights and
// activation derivatives without storing T dense Jacobians. Everything is in double: the
// products this feeds run thousands of factors deep.
#pragma once

#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

class JacobianChain {
 public:
  virtual ~JacobianChain() = default;

  virtual Index length() const = 0;
  // J_{l+1} (factor l) has shape (output_size(l), input_size(l)).
  virtual Index input_size(Index l) const = 0;
  virtual Index output_size(Index l) const = 0;
  // out = J v for factor l, v (input_size(l), k).
  virtual void apply(Index l, const Matrix<double>& v, Matrix<double>& out) const = 0;
  // out = J^T v for factor l, v (output_size(l), k).
  virtual void apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const = 0;
  // Factor l as an explicit matrix (for per-factor spectra). The default applies it to I.
  virtual Matrix<double> factor(Index l) const;

  // The smallest width along the chain: the rank the product can have at most.
  Index min_width() const;
};

// A chain of explicit matrices. Throws a bad-input Error when neighbouring shapes do not chain.
class ExplicitChain final : public JacobianChain {
 public:
  explicit ExplicitChain(std::vector<Matrix<double>> factors);

  Index length() const override { return static_cast<Index>(factors_.size()); }
  Index input_size(Index l) const override { return at(l).cols(); }
  Index output_size(Index l) const override { return at(l).rows(); }
  void apply(Index l, const Matrix<double>& v, Matrix<double>& out) const override;
  void apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const override;
  Matrix<double> factor(Index l) const override { return at(l); }

 private:
  const Matrix<double>& at(Index l) const { return factors_.at(static_cast<std::size_t>(l)); }
  std::vector<Matrix<double>> factors_;
};

}  // namespace gradscope
