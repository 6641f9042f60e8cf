#include "gradscope/io/safetensors.hpp"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"

namespace gradscope {
namespace {

using nlohmann::json;

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4);
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8);

struct DtypeInfo {
  SafetensorsDtype dtype;
  const char* name;
  std::size_t size;
};

// Sub-byte dtypes of newer specification versions (F4, F6_*) are not listed: they are reported as
// unknown, by name.
constexpr std::array<DtypeInfo, 17> kDtypes = {{
    {SafetensorsDtype::kBool, "BOOL", 1},
    {SafetensorsDtype::kU8, "U8", 1},
    {SafetensorsDtype::kI8, "I8", 1},
    {SafetensorsDtype::kF8E5M2, "F8_E5M2", 1},
    {SafetensorsDtype::kF8E4M3, "F8_E4M3", 1},
    {SafetensorsDtype::kF8E8M0, "F8_E8M0", 1},
    {SafetensorsDtype::kI16, "I16", 2},
    {SafetensorsDtype::kU16, "U16", 2},
    {SafetensorsDtype::kF16, "F16", 2},
    {SafetensorsDtype::kBF16, "BF16", 2},
    {SafetensorsDtype::kI32, "I32", 4},
    {SafetensorsDtype::kU32, "U32", 4},
    {SafetensorsDtype::kF32, "F32", 4},
    {SafetensorsDtype::kF64, "F64", 8},
    {SafetensorsDtype::kC64, "C64", 8},
    {SafetensorsDtype::kI64, "I64", 8},
    {SafetensorsDtype::kU64, "U64", 8},
}};

const DtypeInfo& info(SafetensorsDtype dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.dtype == dtype) return d;
  }
  GRADSCOPE_CHECK(false, "safetensors: dtype {} missing from the table", static_cast<int>(dtype));
  return kDtypes[0];
}

std::optional<SafetensorsDtype> parse_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return d.dtype;
  }
  return std::nullopt;
}

// At most `limit` characters of `text`, so that a hostile 100 MB name or value cannot flood a
// message.
std::string clip(const std::string& text, std::size_t limit = 80) {
  if (text.size() <= limit) return text;
  return text.substr(0, limit) + "...";
}

// A JSON value for a message. Containers are described, not printed: dump() recurses, and a
// hostile header can nest arrays millions deep.
std::string describe(const json& value) {
  if (value.is_array()) return fmt::format("an array of {} elements", value.size());
  if (value.is_object()) return fmt::format("an object of {} keys", value.size());
  return fmt::format("{} ({})", clip(value.dump(-1, ' ', false, json::error_handler_t::replace)),
                     value.is_number_float() ? "a non-integer number" : value.type_name());
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// A non-negative JSON integer (nlohmann stores those as unsigned; negative ones as signed).
std::optional<std::uint64_t> as_count(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

void append_u64_le(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

// Element k of a little-endian F32 or F64 array, on any host byte order.
double load_element(const std::uint8_t* data, SafetensorsDtype dtype, std::uint64_t k) {
  if (dtype == SafetensorsDtype::kF32) {
    const std::uint8_t* p = data + 4 * k;
    const std::uint32_t bits = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) |
                               (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
    return static_cast<double>(std::bit_cast<float>(bits));
  }
  return std::bit_cast<double>(read_u64_le(data + 8 * k));
}

template <typename Scalar>
void append_element(std::vector<std::uint8_t>& out, Scalar value) {
  if constexpr (std::is_same_v<Scalar, float>) {
    const auto bits = std::bit_cast<std::uint32_t>(value);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  } else {
    append_u64_le(out, std::bit_cast<std::uint64_t>(value));
  }
}

template <typename Scalar>
constexpr SafetensorsDtype dtype_of() {
  return std::is_same_v<Scalar, float> ? SafetensorsDtype::kF32 : SafetensorsDtype::kF64;
}

// Parses the header JSON and finds duplicate keys, which nlohmann would silently resolve by
// keeping the last one: a parser callback keeps the set of keys of every open object.
json parse_header(const char* begin, const char* end, const std::string& source) {
  std::vector<std::set<std::string>> open_objects;
  std::string top_key;  // the tensor (or "__metadata__") being parsed
  std::string duplicate;
  const json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event,
                                               json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        if (open_objects.empty()) break;
        const std::string& key = parsed.get_ref<const std::string&>();
        if (open_objects.size() == 1) top_key = key;
        if (!open_objects.back().insert(key).second && duplicate.empty()) {
          duplicate =
              open_objects.size() == 1
                  ? fmt::format("the header names '{}' twice", clip(key))
                  : fmt::format("key '{}' appears twice inside '{}'", clip(key), clip(top_key));
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, callback);
  } catch (const json::exception& error) {
    throw_bad_input("{}: the header is not valid JSON: {}", source, error.what());
  }
  if (!duplicate.empty()) {
    throw_bad_input("{}: {} (safetensors forbids duplicate keys)", source, duplicate);
  }
  if (!header.is_object()) {
    throw_bad_input("{}: the header is {}, expected a JSON object", source, header.type_name());
  }
  return header;
}

Safetensors::Entry parse_entry(const std::string& source, const std::string& name,
                               const json& value, std::uint64_t buffer_size) {
  const std::string where = fmt::format("{}: tensor '{}'", source, clip(name));
  if (!value.is_object()) {
    throw_bad_input(
        "{}: the header entry is {}, expected an object with dtype, shape and data_offsets", where,
        describe(value));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) throw_bad_input("{}: missing '{}'", where, field);
  }
  Safetensors::Entry entry;

  const json& dtype = value["dtype"];
  if (!dtype.is_string()) {
    throw_bad_input("{}: 'dtype' is {}, expected a string such as \"F32\"", where, describe(dtype));
  }
  const std::optional<SafetensorsDtype> parsed_dtype = parse_dtype(dtype.get<std::string>());
  if (!parsed_dtype) {
    throw_bad_input("{}: unknown dtype '{}'", where, clip(dtype.get<std::string>()));
  }
  entry.dtype = *parsed_dtype;

  const json& shape = value["shape"];
  if (!shape.is_array()) {
    throw_bad_input("{}: 'shape' is {}, expected an array of non-negative integers", where,
                    describe(shape));
  }
  // The element count is multiplied in 64 bits with an overflow check at every step, as the
  // reference does; each dimension must also fit gradscope's signed Index.
  std::uint64_t elements = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::optional<std::uint64_t> dim = as_count(shape[i]);
    if (!dim) {
      throw_bad_input("{}: shape entry {} is {}, expected a non-negative integer", where, i,
                      describe(shape[i]));
    }
    if (*dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw_bad_input("{}: shape entry {} ({}) is larger than 2^63 - 1", where, i, *dim);
    }
    if (*dim != 0 && elements > std::numeric_limits<std::uint64_t>::max() / *dim) {
      throw_bad_input("{}: shape entry {} ({}) makes the element count overflow 64 bits", where, i,
                      *dim);
    }
    elements *= *dim;
    entry.shape.push_back(static_cast<std::int64_t>(*dim));
  }
  const std::size_t element_size = info(entry.dtype).size;
  if (elements > std::numeric_limits<std::uint64_t>::max() / element_size) {
    throw_bad_input("{}: shape {} of {} needs more bytes than 64 bits can count", where,
                    shape_text(entry.shape), dtype_name(entry.dtype));
  }
  const std::uint64_t bytes = elements * element_size;

  const json& offsets = value["data_offsets"];
  std::optional<std::uint64_t> begin;
  std::optional<std::uint64_t> end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = as_count(offsets[0]);
    end = as_count(offsets[1]);
  }
  if (!begin || !end) {
    throw_bad_input("{}: 'data_offsets' is {}, expected [begin, end] with non-negative integers",
                    where, describe(offsets));
  }
  entry.begin = *begin;
  entry.end = *end;
  if (entry.begin > entry.end) {
    throw_bad_input("{}: data_offsets [{}, {}] begin after they end", where, entry.begin,
                    entry.end);
  }
  if (entry.end > buffer_size) {
    throw_bad_input("{}: data_offsets [{}, {}] end past the {}-byte data buffer", where,
                    entry.begin, entry.end, buffer_size);
  }
  if (entry.end - entry.begin != bytes) {
    throw_bad_input("{}: data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", where,
                    entry.begin, entry.end, entry.end - entry.begin, shape_text(entry.shape),
                    dtype_name(entry.dtype), bytes);
  }
  return entry;
}

// The specification: the byte ranges tile the buffer exactly, so no byte belongs to two tensors
// (aliasing) and none to no tensor (a place to hide a second file in the first).
void check_tiling(const std::string& source,
                  const std::map<std::string, Safetensors::Entry>& entries,
                  std::uint64_t buffer_size) {
  std::vector<std::pair<const std::string*, const Safetensors::Entry*>> order;
  for (const auto& [name, entry] : entries) order.emplace_back(&name, &entry);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->begin, a.second->end, *a.first) <
           std::tie(b.second->begin, b.second->end, *b.first);
  });
  std::uint64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
  const std::string* last = nullptr;
  for (const auto& [name, entry] : order) {
    if (entry->begin < covered) {
      throw_bad_input(
          "{}: tensor '{}': data_offsets [{}, {}] overlap tensor '{}' (which ends at {})", source,
          clip(*name), entry->begin, entry->end, clip(*last), covered);
    }
    if (entry->begin > covered) {
      throw_bad_input(
          "{}: bytes [{}, {}) of the data buffer belong to no tensor (safetensors requires "
          "the tensors to cover the buffer without holes)",
          source, covered, entry->begin);
    }
    if (entry->end > covered || last == nullptr) last = name;
    covered = std::max(covered, entry->end);
  }
  if (covered != buffer_size) {
    throw_bad_input(
        "{}: the data buffer has {} bytes but the tensors end at byte {} (trailing data "
        "after the last tensor)",
        source, buffer_size, covered);
  }
}

// Closes and, unless released, deletes the temporary file of a write that did not finish.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Closes the descriptor; returns close()'s result.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void release() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

[[noreturn]] void throw_write_error(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::kRuntime,
              fmt::format("{}: cannot write the checkpoint: {}: {} (the target is unchanged)", path,
                          what, std::strerror(errno)));
}

}  // namespace

const char* dtype_name(SafetensorsDtype dtype) { return info(dtype).name; }
std::size_t dtype_size(SafetensorsDtype dtype) { return info(dtype).size; }

Safetensors::Safetensors(std::vector<std::uint8_t> bytes, std::string source)
    : source_(std::move(source)), bytes_(std::move(bytes)) {
  const std::uint64_t size = bytes_.size();
  if (size < 8) {
    throw_bad_input(
        "{}: truncated: {} bytes, too short for the 8-byte header length of a safetensors "
        "file",
        source_, size);
  }
  const std::uint64_t header_size = read_u64_le(bytes_.data());
  if (header_size > kSafetensorsMaxHeaderBytes) {
    throw_bad_input("{}: the header length {} exceeds the {}-byte limit (not a safetensors file?)",
                    source_, header_size, kSafetensorsMaxHeaderBytes);
  }
  if (header_size > size - 8) {
    throw_bad_input(
        "{}: truncated: the header length is {} bytes but only {} bytes follow the "
        "8-byte length field",
        source_, header_size, size - 8);
  }
  if (header_size == 0 || bytes_[8] != '{') {
    throw_bad_input("{}: the header does not start with '{{' (not a safetensors file?)", source_);
  }
  data_start_ = 8 + header_size;
  const std::uint64_t buffer_size = size - data_start_;

  const auto* text = reinterpret_cast<const char*>(bytes_.data());
  const json header = parse_header(text + 8, text + data_start_, source_);
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) {
        throw_bad_input("{}: '__metadata__' is {}, expected an object of strings", source_,
                        describe(value));
      }
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) {
          throw_bad_input("{}: '__metadata__' entry '{}' is {}, expected a string", source_,
                          clip(key), describe(item));
        }
        metadata_[key] = item.get<std::string>();
      }
      continue;
    }
    entries_[name] = parse_entry(source_, name, value, buffer_size);
  }
  check_tiling(source_, entries_, buffer_size);
}

std::vector<std::string> Safetensors::names() const {
  std::vector<std::string> result;
  result.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) result.push_back(name);
  return result;
}

const Safetensors::Entry& Safetensors::entry(const std::string& name) const {
  const auto found = entries_.find(name);
  if (found == entries_.end()) {
    std::vector<std::string> some;
    for (const auto& [present, e] : entries_) {
      if (some.size() == 10) {
        some.push_back("...");
        break;
      }
      some.push_back(clip(present));
    }
    throw_bad_input("{}: no tensor '{}' (the file holds {} tensors: {})", source_, clip(name),
                    entries_.size(), fmt::join(some, ", "));
  }
  return found->second;
}

void Safetensors::check_float_dtype(const std::string& name, const Entry& e) const {
  if (e.dtype != SafetensorsDtype::kF32 && e.dtype != SafetensorsDtype::kF64) {
    throw_bad_input("{}: tensor '{}' has dtype {}; gradscope reads F32 and F64 tensors", source_,
                    clip(name), dtype_name(e.dtype));
  }
}

template <typename Scalar>
Matrix<Scalar> Safetensors::matrix(const std::string& name, Index rows, Index cols) const {
  const Entry& e = entry(name);
  const std::vector<std::int64_t>& s = e.shape;
  const bool matches = (s.empty() && rows == 1 && cols == 1) ||
                       (s.size() == 1 && s[0] == rows && cols == 1) ||
                       (s.size() == 2 && s[0] == rows && s[1] == cols);
  if (!matches) {
    throw_bad_input("{}: tensor '{}' has shape {}, expected [{}, {}]{}", source_, clip(name),
                    shape_text(s), rows, cols, cols == 1 ? fmt::format(" or [{}]", rows) : "");
  }
  check_float_dtype(name, e);
  Matrix<Scalar> m(rows, cols);
  const std::uint8_t* values = data(e);
  // Row-major file, column-major matrix: element k = i * cols + j of the file is m(i, j).
  std::uint64_t k = 0;
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j)
      m(i, j) = static_cast<Scalar>(load_element(values, e.dtype, k++));
  }
  return m;
}

template <typename Scalar>
Matrix<Scalar> Safetensors::matrix(const std::string& name) const {
  const Entry& e = entry(name);
  if (e.shape.size() > 2) {
    throw_bad_input("{}: tensor '{}' has shape {}; a matrix is read from a 0-, 1- or 2-D tensor",
                    source_, clip(name), shape_text(e.shape));
  }
  const Index rows = e.shape.empty() ? 1 : e.shape[0];
  const Index cols = e.shape.size() == 2 ? e.shape[1] : 1;
  return matrix<Scalar>(name, rows, cols);
}

template <typename Scalar>
SequenceData<Scalar> Safetensors::sequence_matrix(const std::string& name) const {
  const Entry& e = entry(name);
  if (e.shape.size() != 3) {
    throw_bad_input("{}: tensor '{}' has shape {}, expected a 3-D (batch, steps, features) tensor",
                    source_, clip(name), shape_text(e.shape));
  }
  check_float_dtype(name, e);
  SequenceData<Scalar> result;
  result.batch = e.shape[0];
  result.steps = e.shape[1];
  result.features = e.shape[2];
  result.x.resize(result.features, result.steps * result.batch);
  const std::uint8_t* values = data(e);
  // Element k = (b * T + t) * I + i of the file goes to column t * B + b, row i.
  std::uint64_t k = 0;
  for (Index b = 0; b < result.batch; ++b) {
    for (Index t = 0; t < result.steps; ++t) {
      for (Index i = 0; i < result.features; ++i) {
        result.x(i, t * result.batch + b) = static_cast<Scalar>(load_element(values, e.dtype, k++));
      }
    }
  }
  return result;
}

Safetensors read_safetensors(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw_bad_input("{}: not found", path);
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw_bad_input("{}: is a directory, expected a safetensors file", path);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_bad_input("{}: cannot open: {}", path, std::strerror(errno));
  struct stat info {};
  std::vector<std::uint8_t> bytes;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    const auto size = static_cast<std::uint64_t>(info.st_size);
    try {
      check_fits_in_memory(size, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    bytes.reserve(size);
  }
  // Read to the end rather than trusting the size: the file may be a pipe, or change meanwhile.
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  while (true) {
    const std::size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    const ssize_t got = ::read(fd, bytes.data() + old_size, kChunk);
    if (got < 0 && errno == EINTR) {
      bytes.resize(old_size);
      continue;
    }
    if (got < 0) {
      const int saved = errno;
      ::close(fd);
      throw_bad_input("{}: cannot read: {}", path, std::strerror(saved));
    }
    bytes.resize(old_size + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  ::close(fd);
  return Safetensors(std::move(bytes), path);
}

template <typename Scalar>
void SafetensorsWriter::add_matrix(const std::string& name, ConstMatrixRef<Scalar> m) {
  Pending tensor{dtype_of<Scalar>(), {m.rows(), m.cols()}, {}};
  tensor.data.reserve(static_cast<std::size_t>(m.size()) * sizeof(Scalar));
  for (Index i = 0; i < m.rows(); ++i) {
    for (Index j = 0; j < m.cols(); ++j) append_element<Scalar>(tensor.data, m(i, j));
  }
  add(name, std::move(tensor));
}

template <typename Scalar>
void SafetensorsWriter::add_vector(const std::string& name, ConstMatrixRef<Scalar> v) {
  if (v.rows() != 1 && v.cols() != 1) {
    throw_bad_input("safetensors writer: tensor '{}' is {}x{}, not a vector", name, v.rows(),
                    v.cols());
  }
  Pending tensor{dtype_of<Scalar>(), {v.size()}, {}};
  tensor.data.reserve(static_cast<std::size_t>(v.size()) * sizeof(Scalar));
  // A row and a column both list their entries in index order.
  for (Index k = 0; k < v.size(); ++k) {
    append_element<Scalar>(tensor.data, v.rows() == 1 ? v(0, k) : v(k, 0));
  }
  add(name, std::move(tensor));
}

template <typename Scalar>
void SafetensorsWriter::add_sequence(const std::string& name, ConstMatrixRef<Scalar> x,
                                     Index batch) {
  if (batch < 1 || x.cols() % batch != 0) {
    throw_bad_input(
        "safetensors writer: tensor '{}' has {} columns, not a whole number of "
        "steps of batch {}",
        name, x.cols(), batch);
  }
  const Index steps = x.cols() / batch;
  Pending tensor{dtype_of<Scalar>(), {batch, steps, x.rows()}, {}};
  tensor.data.reserve(static_cast<std::size_t>(x.size()) * sizeof(Scalar));
  for (Index b = 0; b < batch; ++b) {
    for (Index t = 0; t < steps; ++t) {
      for (Index i = 0; i < x.rows(); ++i) append_element<Scalar>(tensor.data, x(i, t * batch + b));
    }
  }
  add(name, std::move(tensor));
}

void SafetensorsWriter::add_integer_scalar(const std::string& name, std::int64_t value) {
  Pending tensor{SafetensorsDtype::kI64, {}, {}};
  append_u64_le(tensor.data, static_cast<std::uint64_t>(value));
  add(name, std::move(tensor));
}

std::int64_t Safetensors::integer_scalar(const std::string& name) const {
  const Entry& e = entry(name);
  std::int64_t elements = 1;
  for (const std::int64_t d : e.shape) elements *= d;
  if (e.dtype != SafetensorsDtype::kI64 || elements != 1) {
    throw_bad_input("{}: tensor '{}' is {} of shape {}, expected one I64 value", source_,
                    clip(name), dtype_name(e.dtype), shape_text(e.shape));
  }
  return static_cast<std::int64_t>(read_u64_le(data(e)));
}

void SafetensorsWriter::add(const std::string& name, Pending tensor) {
  if (name.empty() || name == "__metadata__") {
    throw_bad_input("safetensors writer: '{}' cannot name a tensor", name);
  }
  if (!tensors_.emplace(name, std::move(tensor)).second) {
    throw_bad_input("safetensors writer: tensor '{}' added twice", name);
  }
}

std::vector<std::uint8_t> SafetensorsWriter::serialize() const {
  // As the reference: largest elements first, then by name, so every tensor starts at a multiple
  // of its element size once the header is padded to 8 bytes.
  std::vector<std::pair<const std::string*, const Pending*>> order;
  for (const auto& [name, tensor] : tensors_) order.emplace_back(&name, &tensor);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return dtype_size(a.second->dtype) > dtype_size(b.second->dtype);
  });
  json header = json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : order) {
    const std::uint64_t end = offset + tensor->data.size();
    header[*name] = {{"dtype", dtype_name(tensor->dtype)},
                     {"shape", tensor->shape},
                     {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::string text;
  try {
    text = header.dump();  // nlohmann's objects are std::maps: keys come out sorted
  } catch (const json::exception& error) {
    throw_bad_input("safetensors writer: a tensor name or metadata string is not valid UTF-8: {}",
                    error.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<std::uint8_t> bytes;
  bytes.reserve(8 + text.size() + offset);
  append_u64_le(bytes, text.size());
  bytes.insert(bytes.end(), text.begin(), text.end());
  for (const auto& [name, tensor] : order) {
    bytes.insert(bytes.end(), tensor->data.begin(), tensor->data.end());
  }
  return bytes;
}

void SafetensorsWriter::write(const std::string& path) const {
  const std::vector<std::uint8_t> bytes = serialize();
  const std::filesystem::path target(path);
  if (target.filename().empty()) {
    throw_bad_input("{}: names a directory, expected a file name for the checkpoint", path);
  }
  const std::filesystem::path directory =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  // Same directory, so the final rename stays on one file system and is atomic.
  // (fmt rather than string operator+, which g++ 12 -O3 misreports as an overflowing memcpy)
  std::string temp_path =
      (directory / fmt::format(".{}.tmp-XXXXXX", target.filename().string())).string();
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    throw_bad_input("{}: cannot write the checkpoint: cannot create a file in {}: {}", path,
                    directory.string(), std::strerror(errno));
  }
  TempFile temp(fd, temp_path);
  const std::uint8_t* next = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(temp.fd(), next, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw_write_error(
          path, fmt::format("writing {} bytes failed after {}", bytes.size(), bytes.size() - left));
    }
    next += written;
    left -= static_cast<std::size_t>(written);
  }
  // mkstemp makes the file private (0600); a checkpoint is an ordinary readable file.
  if (::fchmod(temp.fd(), 0644) != 0) throw_write_error(path, "fchmod");
  if (::fsync(temp.fd()) != 0) throw_write_error(path, "fsync");
  if (temp.close() != 0) throw_write_error(path, "close");
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    throw_bad_input("{}: cannot write the checkpoint: cannot rename {} over it: {}", path,
                    temp.path(), std::strerror(errno));
  }
  temp.release();
  // Make the rename itself durable; failing here loses nothing already written.
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

template Matrix<float> Safetensors::matrix<float>(const std::string&, Index, Index) const;
template Matrix<double> Safetensors::matrix<double>(const std::string&, Index, Index) const;
template Matrix<float> Safetensors::matrix<float>(const std::string&) const;
template Matrix<double> Safetensors::matrix<double>(const std::string&) const;
template SequenceData<float> Safetensors::sequence_matrix<float>(const std::string&) const;
template SequenceData<double> Safetensors::sequence_matrix<double>(const std::string&) const;
template void SafetensorsWriter::add_matrix<float>(const std::string&, ConstMatrixRef<float>);
template void SafetensorsWriter::add_matrix<double>(const std::string&, ConstMatrixRef<double>);
template void SafetensorsWriter::add_vector<float>(const std::string&, ConstMatrixRef<float>);
template void SafetensorsWriter::add_vector<double>(const std::string&, ConstMatrixRef<double>);
template void SafetensorsWriter::add_sequence<float>(const std::string&, ConstMatrixRef<float>,
                                                     Index);
template void SafetensorsWriter::add_sequence<double>(const std::string&, ConstMatrixRef<double>,
                                                      Index);

}  // namespace gradscope
