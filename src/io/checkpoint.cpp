#include "gradscope/io/checkpoint.hpp"

#include <set>

#include "gradscope/core/error.hpp"
#include "gradscope/core/norms.hpp"

namespace gradscope {

template <typename Scalar>
void load_parameters(const Safetensors& file, const std::vector<Param<Scalar>>& params,
                     const std::vector<Buffer<Scalar>>& buffers, bool allow_extra) {
  std::set<std::string> used;
  const auto load_matrix = [&](const std::string& name, Matrix<Scalar>& target) {
    if (!file.has(name)) {
      throw_bad_input("{}: no tensor '{}' (the model has one of shape {}x{})", file.source(), name,
                      target.rows(), target.cols());
    }
    Matrix<Scalar> value = file.matrix<Scalar>(name, target.rows(), target.cols());
    if (!all_finite<Scalar>(value)) {
      throw_bad_input("{}: tensor '{}' holds NaN or Inf", file.source(), name);
    }
    target = std::move(value);
    used.insert(name);
  };
  for (const Param<Scalar>& p : params) load_matrix(p.name, *p.value);
  for (const Buffer<Scalar>& b : buffers) {
    if (b.value != nullptr) {
      load_matrix(b.name, *b.value);
    } else if (b.count != nullptr && file.has(b.name)) {  // PyTorch saves it; optional here
      *b.count = file.integer_scalar(b.name);
      used.insert(b.name);
    }
  }
  if (allow_extra) return;
  for (const std::string& name : file.names()) {
    if (!used.contains(name)) {
      throw_bad_input(
          "{}: tensor '{}' matches no parameter of the model (is --model, --depth, "
          "--layers, --residual or --norm different from the model that saved it?)",
          file.source(), name);
    }
  }
}

template <typename Scalar>
void add_parameters(SafetensorsWriter& writer, const std::vector<Param<Scalar>>& params,
                    bool gradients) {
  for (const Param<Scalar>& p : params) {
    const Matrix<Scalar>& m = gradients ? *p.grad : *p.value;
    if (p.vector) {
      writer.add_vector<Scalar>(p.name, m);
    } else {
      writer.add_matrix<Scalar>(p.name, m);
    }
  }
}

template <typename Scalar>
void add_buffers(SafetensorsWriter& writer, const std::vector<Buffer<Scalar>>& buffers) {
  for (const Buffer<Scalar>& b : buffers) {
    if (b.value != nullptr) writer.add_vector<Scalar>(b.name, *b.value);
    if (b.count != nullptr) writer.add_integer_scalar(b.name, *b.count);
  }
}

template void load_parameters<float>(const Safetensors&, const std::vector<Param<float>>&,
                                     const std::vector<Buffer<float>>&, bool);
template void load_parameters<double>(const Safetensors&, const std::vector<Param<double>>&,
                                      const std::vector<Buffer<double>>&, bool);
template void add_parameters<float>(SafetensorsWriter&, const std::vector<Param<float>>&, bool);
template void add_parameters<double>(SafetensorsWriter&, const std::vector<Param<double>>&, bool);
template void add_buffers<float>(SafetensorsWriter&, const std::vector<Buffer<float>>&);
template void add_buffers<double>(SafetensorsWriter&, const std::vector<Buffer<double>>&);

}  // namespace gradscope
