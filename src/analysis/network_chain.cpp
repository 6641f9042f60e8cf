#include "gradscope/analysis/network_chain.hpp"

#include <iterator>

#include "gradscope/core/error.hpp"
#include "gradscope/nn/activation.hpp"
#include "gradscope/nn/dense.hpp"

namespace gradscope {

namespace {

void apply_child(const auto& child, const Matrix<double>& v, Matrix<double>& out) {
  if (child.weight != nullptr) {
    out.noalias() = *child.weight * v;
  } else if (child.diagonal.size() > 0) {
    out = child.diagonal.asDiagonal() * v;
  } else {
    out.noalias() = child.explicit_jacobian * v;
  }
}

void apply_child_transpose(const auto& child, const Matrix<double>& v, Matrix<double>& out) {
  if (child.weight != nullptr) {
    out.noalias() = child.weight->transpose() * v;
  } else if (child.diagonal.size() > 0) {
    out = child.diagonal.asDiagonal() * v;
  } else {
    out.noalias() = child.explicit_jacobian.transpose() * v;
  }
}

// Children [first, last) one after another: the first reads v, the others out; a diagonal
// scales out in place, anything else goes through one scratch matrix. No copy of v, so a
// Dense + activation layer costs its product.
template <typename Iterator, typename ApplyChild>
void apply_children(Iterator first, Iterator last, const Matrix<double>& v, Matrix<double>& out,
                    ApplyChild apply) {
  apply(*first, v, out);
  Matrix<double> scratch;
  for (Iterator it = std::next(first); it != last; ++it) {
    if (it->diagonal.size() > 0) {
      out = it->diagonal.asDiagonal() * out;
    } else {
      apply(*it, out, scratch);
      out.swap(scratch);
    }
  }
}

}  // namespace

NetworkChain::NetworkChain(const Sequential<double>& body, ConstMatrixRef<double> x_sample,
                           Index first_layer, Index last_layer) {
  const std::vector<LayerGroup> groups = group_layers(body);
  network_layers_ = static_cast<Index>(groups.size());
  if (x_sample.cols() != 1) {
    throw_bad_input("network Jacobians: one sample at a time, got {} columns", x_sample.cols());
  }
  if (first_layer < 1 || last_layer > network_layers_ || first_layer > last_layer) {
    throw_bad_input("network Jacobians: layers {}..{} are not within the network's 1..{}",
                    first_layer, last_layer, network_layers_);
  }
  // Forward the sample child by child, keeping each child's input point.
  Matrix<double> h = x_sample;
  Matrix<double> y;
  Saved<double> saved;
  Index index = 0;
  for (const LayerGroup& group : groups) {
    ++index;
    const bool wanted = index >= first_layer && index <= last_layer;
    LayerFactors factors;
    factors.input_size = h.rows();
    for (Index c = group.first_child; c <= group.last_child; ++c) {
      const Layer<double>& child = body.layer(c);
      y.resize(child.output_size(h.rows()), 1);
      saved = {};
      child.forward(h, y, saved);
      if (wanted) {
        ChildFactor factor;
        if (const auto* dense = dynamic_cast<const Dense<double>*>(&child)) {
          factor.weight = &dense->weight();
        } else if (const auto* act = dynamic_cast<const Activation<double>*>(&child)) {
          factor.diagonal.resize(h.rows());
          act->derivative(h, y, factor.diagonal);
        } else {
          factor.explicit_jacobian = child.jacobian(h);
        }
        factors.children.push_back(std::move(factor));
      }
      h.swap(y);
    }
    factors.output_size = h.rows();
    if (wanted) layers_.push_back(std::move(factors));
  }
}

void NetworkChain::apply(Index l, const Matrix<double>& v, Matrix<double>& out) const {
  const std::vector<ChildFactor>& children = layer(l).children;
  apply_children(children.begin(), children.end(), v, out,
                 [](const auto& c, const auto& x, auto& y) { apply_child(c, x, y); });
}

// J^T = (J_k ... J_1)^T = J_1^T ... J_k^T: the children in reverse.
void NetworkChain::apply_transpose(Index l, const Matrix<double>& v, Matrix<double>& out) const {
  const std::vector<ChildFactor>& children = layer(l).children;
  apply_children(children.rbegin(), children.rend(), v, out,
                 [](const auto& c, const auto& x, auto& y) { apply_child_transpose(c, x, y); });
}

}  // namespace gradscope
