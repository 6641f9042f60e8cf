#include "gradscope/tasks/fashion_mnist.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

bool have_data() {
  return std::filesystem::exists(std::filesystem::path(kFashionMnistDefaultDir) /
                                 "train-images-idx3-ubyte.gz");
}

#define SKIP_WITHOUT_DATA()                                                        \
  if (!have_data()) {                                                              \
    GTEST_SKIP() << kFashionMnistDefaultDir                                        \
                 << " is missing; install Debian's dataset-fashion-mnist package " \
                    "(scripts/install-deps.sh)";                                   \
  }

// Loading takes a fraction of a second; read-only tests share one copy.
const FashionMnistTask<float>& shared_task() {
  static const FashionMnistTask<float> task(1);
  return task;
}

// Identifies a sample by its pixels and label (FNV-1a over the bytes).
std::uint64_t sample_hash(const Batch<float>& batch, Index column) {
  std::uint64_t hash = 14695981039346656037ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(batch.x.col(column).data());
  const std::size_t count = static_cast<std::size_t>(batch.x.rows()) * sizeof(float);
  for (std::size_t i = 0; i < count; ++i) hash = (hash ^ bytes[i]) * 1099511628211ULL;
  hash ^= static_cast<std::uint64_t>(batch.targets.labels[static_cast<std::size_t>(column)]);
  return hash * 1099511628211ULL;
}

TEST(FashionMnist, ShapesAndClassCounts) {
  SKIP_WITHOUT_DATA();
  const FashionMnistTask<float>& task = shared_task();
  EXPECT_EQ(task.name(), "fashion-mnist");
  EXPECT_EQ(task.input_size(), 784);
  EXPECT_EQ(task.output_size(), 10);
  EXPECT_TRUE(task.is_classification());
  EXPECT_EQ(task.train_size(), 60000);
  EXPECT_EQ(task.train_set().x.rows(), 784);
  EXPECT_EQ(task.train_set().x.cols(), 60000);
  EXPECT_EQ(task.test_set().x.rows(), 784);
  EXPECT_EQ(task.test_set().x.cols(), 10000);
  ASSERT_EQ(task.train_set().targets.labels.size(), 60000U);
  ASSERT_EQ(task.test_set().targets.labels.size(), 10000U);
  std::array<int, 10> train_counts{};
  std::array<int, 10> test_counts{};
  for (const int label : task.train_set().targets.labels) {
    ASSERT_TRUE(label >= 0 && label < 10) << label;
    ++train_counts[static_cast<std::size_t>(label)];
  }
  for (const int label : task.test_set().targets.labels) {
    ASSERT_TRUE(label >= 0 && label < 10) << label;
    ++test_counts[static_cast<std::size_t>(label)];
  }
  for (std::size_t c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[c], 6000) << "class " << c;
    EXPECT_EQ(test_counts[c], 1000) << "class " << c;
  }
}

TEST(FashionMnist, TrainingPixelsAreStandardised) {
  SKIP_WITHOUT_DATA();
  const Matrix<float>& x = shared_task().train_set().x;
  double sum = 0.0;
  double sum_squares = 0.0;
  for (Index i = 0; i < x.size(); ++i) {
    const double value = static_cast<double>(x.data()[i]);
    sum += value;
    sum_squares += value * value;
  }
  const double count = static_cast<double>(x.size());
  const double mean = sum / count;
  const double std = std::sqrt(sum_squares / count - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std, 1.0, 0.01);
  // Black and white pixels land where (p / 255 - 0.2860) / 0.3530 puts them.
  EXPECT_NEAR(x.minCoeff(), -0.2860 / 0.3530, 1e-6);
  EXPECT_NEAR(x.maxCoeff(), (1.0 - 0.2860) / 0.3530, 1e-6);
}

TEST(FashionMnist, ColumnsHoldImagesInRowMajorPixelOrder) {
  SKIP_WITHOUT_DATA();
  const std::string dir = kFashionMnistDefaultDir;
  const IdxDataset raw =
      read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  const Batch<float>& test = shared_task().test_set();
  for (const Index image : {Index{0}, Index{1}, Index{4321}, Index{9999}}) {
    EXPECT_EQ(test.targets.labels[static_cast<std::size_t>(image)],
              raw.labels[static_cast<std::size_t>(image)]);
    for (Index row = 0; row < 28; ++row) {
      for (Index col = 0; col < 28; ++col) {
        const double pixel = raw.pixels[static_cast<std::size_t>(image * 784 + row * 28 + col)];
        ASSERT_NEAR(test.x(row * 28 + col, image), (pixel / 255.0 - 0.2860) / 0.3530, 1e-6)
            << "image " << image << " pixel " << row << "," << col;
      }
    }
  }
}

TEST(FashionMnist, BatchesReproducePerSeed) {
  SKIP_WITHOUT_DATA();
  FashionMnistTask<float> a(5);
  FashionMnistTask<float> b(5);
  FashionMnistTask<float> c(6);
  Batch<float> batch_a;
  Batch<float> batch_b;
  Batch<float> batch_c;
  for (int step = 0; step < 3; ++step) {
    a.next_batch(64, batch_a);
    b.next_batch(64, batch_b);
    c.next_batch(64, batch_c);
    ASSERT_EQ(batch_a.x.rows(), 784);
    ASSERT_EQ(batch_a.size(), 64);
    ASSERT_EQ(batch_a.targets.labels.size(), 64U);
    EXPECT_EQ(batch_a.x, batch_b.x) << "step " << step;
    EXPECT_EQ(batch_a.targets.labels, batch_b.targets.labels) << "step " << step;
    EXPECT_NE(batch_a.targets.labels, batch_c.targets.labels) << "step " << step;
  }
}

TEST(FashionMnist, EachEpochVisitsEverySampleOnce) {
  SKIP_WITHOUT_DATA();
  FashionMnistTask<float> task(3);
  const Index n = task.train_size();
  std::vector<std::uint64_t> expected;
  for (Index j = 0; j < n; ++j) expected.push_back(sample_hash(task.train_set(), j));
  const std::vector<std::uint64_t> file_order(expected.begin(), expected.begin() + 700);
  std::sort(expected.begin(), expected.end());

  // 700 does not divide 60000: batches straddle the epoch boundary.
  std::vector<std::uint64_t> drawn;
  Batch<float> batch;
  while (static_cast<Index>(drawn.size()) < 2 * n) {
    task.next_batch(700, batch);
    for (Index j = 0; j < batch.size(); ++j) drawn.push_back(sample_hash(batch, j));
  }
  std::vector<std::uint64_t> first(drawn.begin(), drawn.begin() + n);
  std::vector<std::uint64_t> second(drawn.begin() + n, drawn.begin() + 2 * n);
  // Shuffled: the first epoch is not in file order, and the second differs from the first.
  EXPECT_NE(std::vector<std::uint64_t>(first.begin(), first.begin() + 700), file_order);
  EXPECT_NE(first, second);
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  EXPECT_TRUE(first == expected);
  EXPECT_TRUE(second == expected);
}

TEST(FashionMnist, MissingDirectoryIsBadInput) {
  try {
    FashionMnistTask<float> task(1, "/nonexistent/gradscope-fashion");
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
    const std::string message = error.what();
    EXPECT_NE(message.find("/nonexistent/gradscope-fashion/train-images-idx3-ubyte.gz"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("dataset-fashion-mnist"), std::string::npos) << message;
  }
}

void write_gz(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);
}

void append_u32(std::vector<std::uint8_t>& bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

// Valid IDX files that are not Fashion-MNIST must be refused, not trained on.
TEST(FashionMnist, WrongSplitSizesAreBadInput) {
  std::string pattern = ::testing::TempDir() + "gradscope-fashion-XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  const auto write_split = [&](std::uint32_t count, std::uint32_t side) {
    std::vector<std::uint8_t> images;
    append_u32(images, 0x00000803);
    append_u32(images, count);
    append_u32(images, side);
    append_u32(images, side);
    images.resize(images.size() + count * side * side, 7);
    std::vector<std::uint8_t> labels;
    append_u32(labels, 0x00000801);
    append_u32(labels, count);
    for (std::uint32_t i = 0; i < count; ++i) labels.push_back(static_cast<std::uint8_t>(i % 10));
    write_gz((dir / "train-images-idx3-ubyte.gz").string(), images);
    write_gz((dir / "train-labels-idx1-ubyte.gz").string(), labels);
  };
  const auto expect_message = [&](const std::string& part) {
    try {
      FashionMnistTask<float> task(1, dir.string());
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
    }
  };
  write_split(30, 28);
  expect_message("train-images-idx3-ubyte.gz: holds 30 images");
  write_split(30, 27);
  expect_message("27x27");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gradscope
