// One gradient checker for every layer, loss and network test (caffe's idea, in double).
//
// Finite differences are central with step h = 1e-6 max(1, |x|); two numbers a, b agree when
// |a - b| / max(|a|, |b|, 1) <= tolerance (1e-6 in the tests).
#pragma once

#include <functional>
#include <string>

#include "gradscope/core/random.hpp"
#include "gradscope/nn/layer.hpp"
#include "gradscope/nn/loss.hpp"
#include "gradscope/nn/network.hpp"

namespace gradscope::testing {

double relative_error(double a, double b);

// The largest disagreement seen, and where.
struct Disagreement {
  double error = 0.0;
  std::string where;
  void compare(double a, double b, const std::string& location);
};

// Central finite-difference Jacobian (m x n) of f: R^n -> R^m (column vectors) at x.
Matrix<double> finite_difference_jacobian(
    const std::function<Matrix<double>(const Matrix<double>&)>& f, const Matrix<double>& x);

// Everything the Layer contract promises, checked on one layer at input x (in, batch):
struct LayerCheck {
  Disagreement input_jacobian_vjp_vs_fd;     // backward with one-hot dy against finite differences
  Disagreement input_jacobian_closed_vs_fd;  // layer.jacobian() against finite differences
  Disagreement input_grad_vs_fd;             // dx for a random dy against d<y, dy>/dx
  Disagreement param_grad_vs_fd;             // d(theta) against d<y, dy>/d(theta)
  Disagreement linear_in_dy;       // backward(a dy1 + b dy2) = a backward(dy1) + b backward(dy2)
  bool dx_assigned = false;        // dx pre-filled with Inf is fully overwritten
  bool params_accumulate = false;  // two backward calls give twice the gradient
};
LayerCheck check_layer(Layer<double>& layer, const Matrix<double>& x, Rng& rng);

// The closed-form Jacobian of vec(y) with respect to vec(x) (column-major) for a whole batch x,
// e.g. BatchNorm::batch_jacobian.
using BatchJacobian = std::function<Matrix<double>(const Layer<double>&, const Matrix<double>&)>;

// check_layer for a layer whose samples are not independent (BatchNorm in training mode): the
// whole batch x (in, batch) is treated as one sample vec(x), so the input Jacobians compared are
// the (out batch) x (in batch) ones, closed form from `batch_jacobian`, and dx, parameter
// gradients, assign/accumulate and linearity are checked on the whole batch. The layer keeps its
// mode throughout (jacobian_by_vjp's switch to evaluation mode does not reach it).
LayerCheck check_layer_on_batch(Layer<double>& layer, const Matrix<double>& x, Rng& rng,
                                const BatchJacobian& batch_jacobian);

// dL/d(prediction) of a loss against finite differences.
Disagreement check_loss(const Loss<double>& loss, const Matrix<double>& prediction,
                        const Targets<double>& targets);

// Every parameter gradient and dL/dx of a whole network under a loss, against finite differences.
Disagreement check_network(Network<double>& network, const Loss<double>& loss,
                           const Matrix<double>& x, const Targets<double>& targets);

}  // namespace gradscope::testing
