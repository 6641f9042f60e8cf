#include "support/gradient_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "gradscope/core/error.hpp"

namespace gradscope::testing {

namespace {

double step_for(double x) { return 1e-6 * std::max(1.0, std::abs(x)); }

Matrix<double> forward_once(const Layer<double>& layer, const Matrix<double>& x) {
  Saved<double> saved;
  Matrix<double> y(layer.output_size(x.rows()), x.cols());
  layer.forward(x, y, saved);
  return y;
}

// Central difference of a scalar function of one entry.
double central_difference(const std::function<double()>& f, double& entry) {
  const double original = entry;
  const double h = step_for(original);
  entry = original + h;
  const double plus = f();
  entry = original - h;
  const double minus = f();
  entry = original;
  return (plus - minus) / (2.0 * h);
}

}  // namespace

double relative_error(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::infinity();
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1.0});
}

void Disagreement::compare(double a, double b, const std::string& location) {
  const double e = relative_error(a, b);
  if (e > error || (std::isinf(e) && where.empty())) {
    error = e;
    where = fmt::format("{}: {} vs {}", location, a, b);
  }
}

Matrix<double> finite_difference_jacobian(
    const std::function<Matrix<double>(const Matrix<double>&)>& f, const Matrix<double>& x) {
  Matrix<double> probe = x;
  const Matrix<double> y0 = f(probe);
  Matrix<double> jac(y0.size(), x.size());
  for (Index k = 0; k < x.size(); ++k) {
    const double original = probe(k);
    const double h = step_for(original);
    probe(k) = original + h;
    const Matrix<double> plus = f(probe);
    probe(k) = original - h;
    const Matrix<double> minus = f(probe);
    probe(k) = original;
    jac.col(k) = (plus - minus).reshaped() / (2.0 * h);
  }
  return jac;
}

LayerCheck check_layer(Layer<double>& layer, const Matrix<double>& x, Rng& rng) {
  LayerCheck check;
  const Index in = x.rows();
  const Index batch = x.cols();
  const Index out = layer.output_size(in);

  // Input Jacobian of each sample, three ways.
  for (Index j = 0; j < batch; ++j) {
    const Matrix<double> sample = x.col(j);
    const Matrix<double> fd = finite_difference_jacobian(
        [&](const Matrix<double>& s) { return forward_once(layer, s); }, sample);
    const Matrix<double> vjp = jacobian_by_vjp<double>(layer, sample);
    const Matrix<double> closed = layer.jacobian(sample);
    for (Index r = 0; r < out; ++r) {
      for (Index c = 0; c < in; ++c) {
        const std::string at = fmt::format("sample {} dy[{}]/dx[{}]", j, r, c);
        check.input_jacobian_vjp_vs_fd.compare(vjp(r, c), fd(r, c), at);
        check.input_jacobian_closed_vs_fd.compare(closed(r, c), fd(r, c), at);
      }
    }
  }

  // Gradients of the scalar <y, dy> for a random dy, against finite differences.
  const Matrix<double> dy = rng.normal_matrix<double>(out, batch);
  Saved<double> saved;
  Matrix<double> y(out, batch);
  layer.forward(x, y, saved);
  Matrix<double> dx = Matrix<double>::Constant(in, batch, std::numeric_limits<double>::infinity());
  layer.zero_grad();
  layer.backward(x, y, saved, dy, dx);
  check.dx_assigned = dx.allFinite();

  std::vector<Param<double>> params = layer.params();
  std::vector<Matrix<double>> first_grads;
  for (const Param<double>& p : params) first_grads.push_back(*p.grad);

  Matrix<double> x_probe = x;
  auto objective = [&] {
    Saved<double> s;
    Matrix<double> yy(out, batch);
    layer.forward(x_probe, yy, s);
    return (yy.array() * dy.array()).sum();
  };
  for (Index k = 0; k < x.size(); ++k) {
    const double fd = central_difference(objective, x_probe(k));
    check.input_grad_vs_fd.compare(dx(k), fd, fmt::format("dx[{}]", k));
  }
  for (std::size_t p = 0; p < params.size(); ++p) {
    Matrix<double>& value = *params[p].value;
    for (Index k = 0; k < value.size(); ++k) {
      const double fd = central_difference(objective, value(k));
      check.param_grad_vs_fd.compare(first_grads[p](k), fd,
                                     fmt::format("{}[{}]", params[p].name, k));
    }
  }

  // A second backward accumulates: every gradient doubles.
  layer.backward(x, y, saved, dy, dx);
  check.params_accumulate = true;
  for (std::size_t p = 0; p < params.size(); ++p) {
    if (!params[p].grad->isApprox(2.0 * first_grads[p], 1e-12) &&
        !(first_grads[p].isZero(0.0) && params[p].grad->isZero(0.0))) {
      check.params_accumulate = false;
    }
  }

  // Linearity of backward in dy.
  const Matrix<double> dy2 = rng.normal_matrix<double>(out, batch);
  Matrix<double> dx1(in, batch), dx2(in, batch), dx12(in, batch);
  layer.backward(x, y, saved, dy, dx1);
  layer.backward(x, y, saved, dy2, dx2);
  const Matrix<double> combined = 2.0 * dy - 3.0 * dy2;
  layer.backward(x, y, saved, combined, dx12);
  const Matrix<double> expected = 2.0 * dx1 - 3.0 * dx2;
  for (Index k = 0; k < dx12.size(); ++k) {
    check.linear_in_dy.compare(dx12(k), expected(k), fmt::format("dx[{}]", k));
  }
  layer.zero_grad();
  return check;
}

namespace {

// A layer seen through vec(): input (in batch, 1), output (out batch, 1). Borrows the original
// layer (so check_layer reads and perturbs its parameters) and owns its clones.
class WholeBatch final : public Layer<double> {
 public:
  WholeBatch(std::shared_ptr<Layer<double>> inner, Index rows, Index cols,
             BatchJacobian batch_jacobian)
      : inner_(std::move(inner)),
        rows_(rows),
        cols_(cols),
        batch_jacobian_(std::move(batch_jacobian)) {}

  std::string_view kind() const override { return "whole_batch"; }
  Index output_size(Index input_size) const override {
    GRADSCOPE_CHECK(input_size == rows_ * cols_, "whole_batch: expects {} inputs, got {}",
                    rows_ * cols_, input_size);
    return inner_->output_size(rows_) * cols_;
  }
  void forward(ConstRef x, Ref y, Saved<double>& saved) const override {
    GRADSCOPE_CHECK(x.cols() == 1, "whole_batch: one column at a time, got {}", x.cols());
    const Matrix<double> batch = x.reshaped(rows_, cols_);
    Matrix<double> out(inner_->output_size(rows_), cols_);
    saved.children.resize(1);
    inner_->forward(batch, out, saved.children[0]);
    y = out.reshaped(out.size(), 1);
  }
  void backward(ConstRef x, ConstRef y, const Saved<double>& saved, ConstRef dy, Ref dx) override {
    const Index out_rows = inner_->output_size(rows_);
    const Matrix<double> batch = x.reshaped(rows_, cols_);
    const Matrix<double> out = y.reshaped(out_rows, cols_);
    const Matrix<double> dout = dy.reshaped(out_rows, cols_);
    Matrix<double> dbatch(rows_, cols_);
    inner_->backward(batch, out, saved.children.at(0), dout, dbatch);
    dx = dbatch.reshaped(dbatch.size(), 1);
  }
  std::vector<Param<double>> params() override { return inner_->params(); }
  std::unique_ptr<Layer<double>> clone() const override {
    return std::make_unique<WholeBatch>(std::shared_ptr<Layer<double>>(inner_->clone()), rows_,
                                        cols_, batch_jacobian_);
  }
  Mat jacobian(ConstRef x_sample) const override {
    return batch_jacobian_(*inner_, x_sample.reshaped(rows_, cols_));
  }
  void set_training(bool /*training*/) override {}  // the inner layer keeps its mode

 private:
  std::shared_ptr<Layer<double>> inner_;
  Index rows_;
  Index cols_;
  BatchJacobian batch_jacobian_;
};

}  // namespace

LayerCheck check_layer_on_batch(Layer<double>& layer, const Matrix<double>& x, Rng& rng,
                                const BatchJacobian& batch_jacobian) {
  // Non-owning: the checks below act on the caller's layer itself.
  WholeBatch whole(std::shared_ptr<Layer<double>>(&layer, [](Layer<double>*) {}), x.rows(),
                   x.cols(), batch_jacobian);
  const Matrix<double> vec_x = x.reshaped(x.size(), 1);
  return check_layer(whole, vec_x, rng);
}

Disagreement check_loss(const Loss<double>& loss, const Matrix<double>& prediction,
                        const Targets<double>& targets) {
  Disagreement result;
  Matrix<double> gradient(prediction.rows(), prediction.cols());
  loss.evaluate(prediction, targets, gradient);
  Matrix<double> probe = prediction;
  Matrix<double> scratch(prediction.rows(), prediction.cols());
  auto objective = [&] { return loss.evaluate(probe, targets, scratch); };
  for (Index k = 0; k < probe.size(); ++k) {
    const double fd = central_difference(objective, probe(k));
    result.compare(gradient(k), fd, fmt::format("dprediction[{}]", k));
  }
  return result;
}

Disagreement check_network(Network<double>& network, const Loss<double>& loss,
                           const Matrix<double>& x, const Targets<double>& targets) {
  Disagreement result;
  network.zero_grad();
  const Matrix<double>& out = network.forward(x);
  Matrix<double> dout(out.rows(), out.cols());
  loss.evaluate(out, targets, dout);
  const Matrix<double> dx = network.backward(dout);

  Matrix<double> x_probe = x;
  Matrix<double> scratch(out.rows(), out.cols());
  auto objective = [&] { return loss.evaluate(network.forward(x_probe), targets, scratch); };
  for (Index k = 0; k < x.size(); ++k) {
    const double fd = central_difference(objective, x_probe(k));
    result.compare(dx(k), fd, fmt::format("dx[{}]", k));
  }
  for (Param<double>& p : network.params()) {
    for (Index k = 0; k < p.value->size(); ++k) {
      const double fd = central_difference(objective, (*p.value)(k));
      result.compare((*p.grad)(k), fd, fmt::format("{}[{}]", p.name, k));
    }
  }
  return result;
}

}  // namespace gradscope::testing
