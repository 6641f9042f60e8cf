// The Jacobians of a feed-forward network at one sample, as a chain of layer Jacobians.
//
// Layers are the article's (probe/layer_grouping.hpp): J_l = dh_l / dh_{l-1}, the product of the
// Jacobians of the children in layer l's group. A Dense child acts through its weight matrix and
// an activation through diag(phi'(x)) — no dense Jacobian is stored for them, so a 1,000-layer
// net costs nothing beyond its own weights. Other children (residual blocks, normalisation,
// weight norm) are held as explicit Jacobians from their jacobian(), computed once.
//
// Every child is evaluated at the sample's point of the forward pass in the network's current
// mode; jacobian() is the evaluation-mode Jacobian of BatchNorm (see nn/batch_norm.hpp), so
// analyse such networks in evaluation mode.
#pragma once

#include <memory>
#include <vector>

#include "gradscope/analysis/jacobian_chain.hpp"
#include "gradscope/nn/sequential.hpp"
#include "gradscope/probe/layer_grouping.hpp"

namespace gradscope {

class NetworkChain final : public JacobianChain {
 public:
  // Layers first_layer .. last_layer (1-based, inclusive; input side first) of `body` at the
  // sample x (inputs, 1). The network must outlive the chain and keep its weights.
  NetworkChain(const Sequential<double>& body, ConstMatrixRef<double> x_sample, Index first_layer,
               Index last_layer);

  Index length() const override { return static_cast<Index>(layers_.size()); }
  Index input_size(Index l) const override { return layer(l).input_size; }
  Index output_size(Index l) const override { return layer(l).output_size; }
  void apply(Index l, const Matrix<double>& v, Matrix<double>& out) const override;
  void apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const override;

  // Number of layers of the network (groups).
  Index network_layers() const { return network_layers_; }

 private:
  // One child's action: a weight matrix, a diagonal, or an explicit Jacobian.
  struct ChildFactor {
    const Matrix<double>* weight = nullptr;
    Vector<double> diagonal;
    Matrix<double> explicit_jacobian;
  };
  struct LayerFactors {
    Index input_size = 0;
    Index output_size = 0;
    std::vector<ChildFactor> children;  // in forward order
  };
  const LayerFactors& layer(Index l) const { return layers_.at(static_cast<std::size_t>(l)); }

  std::vector<LayerFactors> layers_;
  Index network_layers_ = 0;
};

}  // namespace gradscope
