// safetensors checkpoints (https://github.com/huggingface/safetensors), the format PyTorch
// models are exchanged in, so weights move between PyTorch and gradscope unchanged.
//
// File layout:
//   bytes [0, 8)       N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)   UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [2, 3],
//                      "data_offsets": [begin, end]}, ..., optional "__metadata__": {str: str}}
//   bytes [8 + N, ..)  the data buffer; offsets are relative to its start
// Tensors are row-major (C order) and little-endian; element [i][j] of a (r, c) tensor is at
// byte begin + (i * c + j) * dtype_size.
//
// The reader treats the file as hostile: everything is validated before use, nothing is read out
// of bounds, and each problem is a bad-input Error naming the file, the tensor and what is wrong.
// The checks follow the specification and the reference implementation: a header of at most
// 100 MB that starts with '{' (trailing spaces allowed), valid UTF-8 JSON; per tensor a known
// dtype, a shape of non-negative integers whose element and byte counts fit in 64 bits,
// data_offsets [begin, end] inside the buffer whose length matches shape and dtype (unknown extra
// keys are ignored, as the reference does); tensor byte ranges that tile the data buffer exactly
// (no overlap, no hole, nothing after the last tensor); "__metadata__" an object of strings.
// Stricter than the reference: no duplicate JSON key at any level. nlohmann would silently keep
// the last of two entries with one name, so a parser callback detects duplicates and refuses them.
//
// Layouts gradscope converts to (its matrices are column-major Eigen):
//   matrix(name, rows, cols): a 2-D tensor (r, c) -> m(i, j) = tensor[i][j]; a 1-D tensor (n)
//     -> (n, 1); a 0-D scalar -> (1, 1). So a PyTorch Linear's "weight" (out, in) is W directly.
//   sequence_matrix(name): a 3-D data tensor x of shape (B batch, T steps, I inputs), PyTorch's
//     batch_first layout -> the time-major (I, T * B) matrix of gradscope's recurrent code:
//     column t * B + b holds x[b][t][:].
// F32 and F64 read into float or double matrices (converted as needed; F64 -> float rounds).
// Other dtypes are parsed and validated in the header but refused when read as a matrix.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gradscope/core/types.hpp"

namespace gradscope {

// Every dtype of the safetensors specification with a whole number of bytes per element.
enum class SafetensorsDtype {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kC64,
  kI64,
  kU64,
};

// "F32", "BF16", ... as written in the header.
const char* dtype_name(SafetensorsDtype dtype);
// Bytes per element.
std::size_t dtype_size(SafetensorsDtype dtype);

// The largest header accepted (the reference implementation's limit).
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// A time-major data tensor read by sequence_matrix(): x is (features, steps * batch).
template <typename Scalar>
struct SequenceData {
  Matrix<Scalar> x;
  Index batch = 0;
  Index steps = 0;
  Index features = 0;
};

// A validated safetensors file held in memory.
class Safetensors {
 public:
  // One tensor's header entry; begin and end are offsets into the data buffer.
  struct Entry {
    SafetensorsDtype dtype = SafetensorsDtype::kF32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
  };

  // Validates `bytes` (a whole file); `source` names it in error messages (usually the path).
  Safetensors(std::vector<std::uint8_t> bytes, std::string source);

  const std::string& source() const { return source_; }
  // Tensor names in sorted order.
  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return entries_.contains(name); }
  // Bad-input Error for an unknown name (the message lists the names present).
  const Entry& entry(const std::string& name) const;
  const std::vector<std::int64_t>& shape(const std::string& name) const {
    return entry(name).shape;
  }
  SafetensorsDtype dtype(const std::string& name) const { return entry(name).dtype; }
  // The "__metadata__" object (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor as a (rows, cols) matrix, m(i, j) = tensor[i][j]; bad-input Error when the shape
  // is not (rows, cols) (see the layouts above) or the dtype is neither F32 nor F64.
  template <typename Scalar>
  Matrix<Scalar> matrix(const std::string& name, Index rows, Index cols) const;
  // The same, with the shape taken from the file (a 0-, 1- or 2-D tensor).
  template <typename Scalar>
  Matrix<Scalar> matrix(const std::string& name) const;
  // A 3-D (batch, steps, features) tensor as the time-major (features, steps * batch) matrix.
  template <typename Scalar>
  SequenceData<Scalar> sequence_matrix(const std::string& name) const;
  // A single I64 value (a 0-D or one-element tensor), such as BatchNorm's num_batches_tracked.
  std::int64_t integer_scalar(const std::string& name) const;

 private:
  // Bad-input Error unless the tensor is F32 or F64.
  void check_float_dtype(const std::string& name, const Entry& e) const;
  const std::uint8_t* data(const Entry& e) const { return bytes_.data() + data_start_ + e.begin; }

  std::string source_;
  std::vector<std::uint8_t> bytes_;  // the whole file
  std::uint64_t data_start_ = 0;     // 8 + N
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Reads and validates a file. Bad-input Error if it is missing, unreadable or malformed.
Safetensors read_safetensors(const std::string& path);

// Collects named tensors and metadata, then writes them in one go.
//
// Data: row-major, little-endian, float -> F32, double -> F64 (cast first for another dtype).
// Layout follows the reference writer: tensors ordered by element size (largest first) then name,
// so every tensor is aligned to its element size; the header JSON has its keys sorted and is
// padded with spaces to a multiple of 8 bytes.
// write() goes to a temporary file in the target's directory (".<name>.tmp-XXXXXX", mode 0644
// once complete, fsync'ed) that is renamed over the target only when complete: a failure never
// leaves a half-written file, and never touches an existing file at the target path.
class SafetensorsWriter {
 public:
  // A 2-D tensor of shape (rows, cols): tensor[i][j] = m(i, j).
  template <typename Scalar>
  void add_matrix(const std::string& name, ConstMatrixRef<Scalar> m);
  // A 1-D tensor of shape (n) from a (n, 1) or (1, n) matrix.
  template <typename Scalar>
  void add_vector(const std::string& name, ConstMatrixRef<Scalar> v);
  // A 3-D tensor (batch, steps, features) from a time-major (features, steps * batch) matrix,
  // the inverse of Safetensors::sequence_matrix.
  template <typename Scalar>
  void add_sequence(const std::string& name, ConstMatrixRef<Scalar> x, Index batch);

  // A 0-D I64 tensor, as torch saves BatchNorm's num_batches_tracked.
  void add_integer_scalar(const std::string& name, std::int64_t value);

  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // The complete file as bytes (what write() puts on disk).
  std::vector<std::uint8_t> serialize() const;
  void write(const std::string& path) const;

 private:
  struct Pending {
    SafetensorsDtype dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> data;
  };
  void add(const std::string& name, Pending tensor);

  std::map<std::string, Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace gradscope
