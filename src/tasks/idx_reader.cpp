#include "gradscope/tasks/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// Reading in pieces keeps a corrupt header that promises terabytes from allocating them up front:
// memory grows only as fast as the file really delivers bytes.
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxUpfrontBytes = std::uint64_t{1} << 26;  // a whole Fashion-MNIST split

// One open IDX file (gzip or plain: gzread passes plain files through).
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code error;
    const bool exists = std::filesystem::exists(path, error);
    if (!exists && !error) {
      throw_bad_input(
          "{}: not found; install Debian's dataset-fashion-mnist package "
          "(scripts/install-deps.sh installs it)",
          path);
    }
    if (std::filesystem::is_directory(path, error)) {
      throw_bad_input("{}: is a directory, expected an IDX file", path);
    }
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw_bad_input("{}: cannot open: {}", path,
                      errno != 0 ? std::strerror(errno) : "out of memory");
    }
    gzbuffer(file_, 1U << 20);  // zlib's default 8 KiB input buffer is slow for 26 MB files
  }
  ~IdxFile() { gzclose(file_); }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t consumed() const { return consumed_; }

  // zlib's message, without the "path: " it puts in front (ours already names the file).
  std::string zlib_message(int& code) const {
    std::string message = gzerror(file_, &code);
    const std::string prefix = path_ + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    return message;
  }

  // Reads up to `count` bytes into `out`; returns how many arrived (fewer only at the end).
  std::uint64_t read_some(std::uint8_t* out, std::uint64_t count) {
    std::uint64_t done = 0;
    while (done < count) {
      const auto want = static_cast<unsigned>(std::min<std::uint64_t>(count - done, kChunkBytes));
      const int got = gzread(file_, out + done, want);
      if (got < 0) {
        int code = Z_OK;
        throw_bad_input("{}: cannot read after {} bytes: {}", path_, consumed_ + done,
                        zlib_message(code));
      }
      done += static_cast<std::uint64_t>(got);
      if (static_cast<unsigned>(got) < want) break;  // end of data
    }
    consumed_ += done;
    return done;
  }

  // A gzip stream that stops mid-way is reported by zlib as Z_BUF_ERROR, not as a read error.
  std::string end_reason() const {
    int code = Z_OK;
    const std::string message = zlib_message(code);
    return code == Z_BUF_ERROR ? fmt::format(" (gzip stream: {})", message) : "";
  }

  // The next big-endian u32 of the header; `what` names the field in the error.
  std::uint32_t read_u32(const char* what) {
    std::uint8_t bytes[4] = {0, 0, 0, 0};
    if (read_some(bytes, 4) != 4) {
      throw_bad_input("{}: truncated: the file ends after {} bytes, inside the header ({}){}",
                      path_, consumed_, what, end_reason());
    }
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  }

  void expect_magic(std::uint32_t expected, const char* kind) {
    const std::uint32_t magic = read_u32("magic number");
    if (magic != expected) {
      throw_bad_input("{}: expected magic 0x{:08x} ({}), found 0x{:08x}", path_, expected, kind,
                      magic);
    }
  }

  // Reads exactly `count` bytes of payload (`what` describes them) and checks nothing follows.
  std::vector<std::uint8_t> read_payload(std::uint64_t count, const std::string& what) {
    std::vector<std::uint8_t> data;
    data.reserve(std::min(count, kMaxUpfrontBytes));
    while (data.size() < count) {
      const std::size_t old_size = data.size();
      const std::uint64_t piece = std::min<std::uint64_t>(count - old_size, kChunkBytes);
      data.resize(old_size + piece);
      const std::uint64_t got = read_some(data.data() + old_size, piece);
      if (got < piece) {
        throw_bad_input(
            "{}: truncated: the header declares {} ({} bytes after the header) but "
            "the file ends after {} of them{}",
            path_, what, count, old_size + got, end_reason());
      }
    }
    std::uint8_t extra = 0;
    if (read_some(&extra, 1) != 0) {
      throw_bad_input(
          "{}: trailing data: the header declares {} ({} bytes after the header) "
          "but the file holds more",
          path_, what, count);
    }
    return data;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  std::uint64_t consumed_ = 0;
};

void read_images(const std::string& path, IdxDataset& data) {
  IdxFile file(path);
  file.expect_magic(kImagesMagic, "IDX images");
  const std::uint32_t count = file.read_u32("image count");
  const std::uint32_t rows = file.read_u32("rows");
  const std::uint32_t cols = file.read_u32("columns");
  // Bounding each side by 2^16 keeps count * rows * cols below 2^64.
  if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536) {
    throw_bad_input("{}: implausible image size {}x{} in the header", path, rows, cols);
  }
  data.count = count;
  data.rows = rows;
  data.cols = cols;
  const std::uint64_t bytes = std::uint64_t{count} * rows * cols;
  data.pixels = file.read_payload(bytes, fmt::format("{} images of {}x{}", count, rows, cols));
}

void read_labels(const std::string& path, int classes, IdxDataset& data) {
  IdxFile file(path);
  file.expect_magic(kLabelsMagic, "IDX labels");
  const std::uint32_t count = file.read_u32("label count");
  data.labels = file.read_payload(count, fmt::format("{} labels", count));
  for (std::size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] >= classes) {
      throw_bad_input("{}: label {} of item {} is not below the {} classes", path, data.labels[i],
                      i, classes);
    }
  }
}

}  // namespace

IdxDataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                         int classes) {
  GRADSCOPE_CHECK(classes >= 1 && classes <= 256, "read_idx_pair: {} classes is not in 1..256",
                  classes);
  IdxDataset data;
  read_images(images_path, data);
  read_labels(labels_path, classes, data);
  const auto label_count = static_cast<Index>(data.labels.size());
  if (label_count != data.count) {
    throw_bad_input("{}: holds {} labels but {} holds {} images", labels_path, label_count,
                    images_path, data.count);
  }
  return data;
}

}  // namespace gradscope
