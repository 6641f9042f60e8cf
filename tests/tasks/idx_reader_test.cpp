#include "gradscope/tasks/idx_reader.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

using Bytes = std::vector<std::uint8_t>;

void append_u32(Bytes& bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

Bytes images_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, const Bytes& pixels,
                  std::uint32_t magic = 0x00000803) {
  Bytes bytes;
  append_u32(bytes, magic);
  append_u32(bytes, count);
  append_u32(bytes, rows);
  append_u32(bytes, cols);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

Bytes labels_file(const Bytes& labels, std::uint32_t magic = 0x00000801) {
  Bytes bytes;
  append_u32(bytes, magic);
  append_u32(bytes, static_cast<std::uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

// Each test gets its own directory: ctest runs tests as separate processes, maybe in parallel.
class IdxReader : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "gradscope-idx-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    pixels_.resize(3 * 2 * 4);
    for (std::size_t i = 0; i < pixels_.size(); ++i) {
      pixels_[i] = static_cast<std::uint8_t>((i * 37 + 5) % 256);
    }
    pixels_.back() = 255;
    pixels_.front() = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write_plain(const std::string& name, const Bytes& bytes) const {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::string write_gz(const std::string& name, const Bytes& bytes) const {
    const std::string path = (dir_ / name).string();
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(file);
    return path;
  }

  std::string good_images() const {
    return write_plain("good-images", images_file(3, 2, 4, pixels_));
  }
  std::string good_labels() const { return write_plain("good-labels", labels_file(labels_)); }

  std::filesystem::path dir_;
  Bytes pixels_;
  Bytes labels_ = {0, 9, 4};
};

// Runs `read`, expects a bad-input Error whose message holds every one of `parts`.
void expect_bad_input(const std::function<void()>& read, std::initializer_list<std::string> parts) {
  try {
    read();
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
    const std::string message = error.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    }
  }
}

TEST_F(IdxReader, ReadsAPlainPairBackExactly) {
  const IdxDataset data = read_idx_pair(good_images(), good_labels());
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.rows, 2);
  EXPECT_EQ(data.cols, 4);
  EXPECT_EQ(data.pixels, pixels_);
  EXPECT_EQ(data.labels, labels_);
}

TEST_F(IdxReader, ReadsAGzippedPairBackExactly) {
  const std::string images = write_gz("images.gz", images_file(3, 2, 4, pixels_));
  const std::string labels = write_gz("labels.gz", labels_file(labels_));
  const IdxDataset data = read_idx_pair(images, labels);
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.rows, 2);
  EXPECT_EQ(data.cols, 4);
  EXPECT_EQ(data.pixels, pixels_);
  EXPECT_EQ(data.labels, labels_);
}

TEST_F(IdxReader, ReadsAnEmptyPair) {
  const IdxDataset data = read_idx_pair(write_gz("images.gz", images_file(0, 28, 28, {})),
                                        write_gz("labels.gz", labels_file({})));
  EXPECT_EQ(data.count, 0);
  EXPECT_TRUE(data.pixels.empty());
  EXPECT_TRUE(data.labels.empty());
}

TEST_F(IdxReader, RejectsWrongMagic) {
  // A label file where the images belong, and the other way round.
  const std::string images = good_images();
  const std::string labels = good_labels();
  expect_bad_input([&] { read_idx_pair(labels, labels); },
                   {"good-labels", "expected magic 0x00000803 (IDX images), found 0x00000801"});
  expect_bad_input([&] { read_idx_pair(images, images); },
                   {"good-images", "expected magic 0x00000801 (IDX labels), found 0x00000803"});
  const std::string odd = write_gz("odd-images.gz", images_file(3, 2, 4, pixels_, 0x1f8b0803));
  expect_bad_input([&] { read_idx_pair(odd, labels); }, {"odd-images.gz", "found 0x1f8b0803"});
}

TEST_F(IdxReader, RejectsTruncatedFiles) {
  Bytes short_pixels = pixels_;
  short_pixels.pop_back();
  const std::string plain = write_plain("short-images", images_file(3, 2, 4, short_pixels));
  expect_bad_input([&] { read_idx_pair(plain, good_labels()); },
                   {"short-images", "truncated", "24 bytes", "23"});

  const std::string gz = write_gz("short-images.gz", images_file(3, 2, 4, short_pixels));
  expect_bad_input([&] { read_idx_pair(gz, good_labels()); }, {"short-images.gz", "truncated"});

  Bytes header_only = labels_file(labels_);
  header_only.resize(6);
  const std::string stub = write_plain("stub-labels", header_only);
  expect_bad_input([&] { read_idx_pair(good_images(), stub); },
                   {"stub-labels", "truncated", "header"});

  const std::string empty = write_plain("empty-images", {});
  expect_bad_input([&] { read_idx_pair(empty, good_labels()); }, {"empty-images", "truncated"});
}

TEST_F(IdxReader, RejectsDamagedGzipStreams) {
  Bytes pixels(4000);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * i);
  const Bytes images = images_file(10, 20, 20, pixels);

  // A download that stopped: the compressed bytes end early.
  const std::string cut = write_gz("cut-images.gz", images);
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  expect_bad_input([&] { read_idx_pair(cut, good_labels()); },
                   {"cut-images.gz", "truncated", "unexpected end of file"});

  // Flipped bits in the compressed data: zlib's own error (bad data or a CRC mismatch).
  const std::string flipped = write_gz("flipped-images.gz", images);
  std::fstream file(flipped, std::ios::in | std::ios::out | std::ios::binary);
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(flipped));
  for (std::streamoff at = 12; at < size - 8; at += 5) {
    file.seekp(at);
    file.put(static_cast<char>(0xA5));
  }
  file.close();
  expect_bad_input([&] { read_idx_pair(flipped, good_labels()); }, {"flipped-images.gz"});
}

TEST_F(IdxReader, RejectsATrailingByte) {
  Bytes images = images_file(3, 2, 4, pixels_);
  images.push_back(0);
  const std::string plain = write_plain("long-images", images);
  expect_bad_input([&] { read_idx_pair(plain, good_labels()); }, {"long-images", "trailing"});

  Bytes labels = labels_file(labels_);
  labels.push_back(1);
  const std::string gz = write_gz("long-labels.gz", labels);
  expect_bad_input([&] { read_idx_pair(good_images(), gz); }, {"long-labels.gz", "trailing"});
}

TEST_F(IdxReader, RejectsCountMismatch) {
  const std::string labels = write_plain("two-labels", labels_file({1, 2}));
  expect_bad_input([&] { read_idx_pair(good_images(), labels); },
                   {"two-labels", "2 labels", "good-images", "3 images"});
}

TEST_F(IdxReader, RejectsALabelOutOfRange) {
  const std::string labels = write_plain("big-labels", labels_file({0, 10, 3}));
  expect_bad_input([&] { read_idx_pair(good_images(), labels); },
                   {"big-labels", "label 10", "item 1"});
  // The same file is fine with more classes.
  EXPECT_EQ(read_idx_pair(good_images(), labels, 11).labels[1], 10);
  EXPECT_THROW(read_idx_pair(good_images(), good_labels(), 0), Error);
}

TEST_F(IdxReader, RejectsImplausibleImageSizes) {
  const std::string flat = write_plain("flat-images", images_file(3, 0, 4, {}));
  expect_bad_input([&] { read_idx_pair(flat, good_labels()); }, {"flat-images", "0x4"});
}

TEST_F(IdxReader, RejectsAMissingFileNamingThePackage) {
  const std::string missing = (dir_ / "no-such-images-idx3-ubyte.gz").string();
  expect_bad_input([&] { read_idx_pair(missing, good_labels()); },
                   {missing, "not found", "dataset-fashion-mnist", "scripts/install-deps.sh"});
  const std::string missing_labels = (dir_ / "no-such-labels").string();
  expect_bad_input([&] { read_idx_pair(good_images(), missing_labels); },
                   {missing_labels, "not found"});
  expect_bad_input([&] { read_idx_pair(dir_.string(), good_labels()); },
                   {dir_.string(), "directory"});
}

}  // namespace
}  // namespace gradscope
