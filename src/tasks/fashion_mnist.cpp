#include "gradscope/tasks/fashion_mnist.hpp"

#include <array>
#include <filesystem>
#include <numeric>
#include <utility>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

constexpr Index kSide = 28;
constexpr Index kPixels = kSide * kSide;
constexpr int kClasses = 10;
constexpr double kPixelMean = 0.2860;  // of the training pixels scaled to [0, 1]
constexpr double kPixelStd = 0.3530;

// Loads one split and checks it is the real Fashion-MNIST: 28 x 28 images, `count` of them,
// `per_class` of each label. A different file would silently train on the wrong thing.
template <typename Scalar>
Batch<Scalar> load_split(const std::string& directory, const std::string& prefix, Index count,
                         Index per_class) {
  const std::filesystem::path dir(directory);
  const std::string images_path = (dir / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels_path = (dir / (prefix + "-labels-idx1-ubyte.gz")).string();
  const IdxDataset data = read_idx_pair(images_path, labels_path, kClasses);

  if (data.rows != kSide || data.cols != kSide) {
    throw_bad_input("{}: images are {}x{}, Fashion-MNIST's are {}x{}", images_path, data.rows,
                    data.cols, kSide, kSide);
  }
  if (data.count != count) {
    throw_bad_input("{}: holds {} images, Fashion-MNIST's {} split has {}", images_path, data.count,
                    prefix, count);
  }
  std::array<Index, kClasses> class_counts{};
  for (const std::uint8_t label : data.labels) ++class_counts[label];
  for (int c = 0; c < kClasses; ++c) {
    if (class_counts[static_cast<std::size_t>(c)] != per_class) {
      throw_bad_input("{}: class {} has {} images, Fashion-MNIST's {} split has {} per class",
                      labels_path, c, class_counts[static_cast<std::size_t>(c)], prefix, per_class);
    }
  }

  // A 256-entry table turns each byte into its standardised value with one load.
  std::array<Scalar, 256> standardised{};
  for (int v = 0; v < 256; ++v) {
    standardised[static_cast<std::size_t>(v)] =
        static_cast<Scalar>((static_cast<double>(v) / 255.0 - kPixelMean) / kPixelStd);
  }
  Batch<Scalar> split;
  // Column j holds image j; the IDX bytes are already row-major per image, which is exactly the
  // order of the 784 entries of a column, so the copy is one linear pass.
  split.x.resize(kPixels, count);
  Scalar* out = split.x.data();
  const std::uint8_t* in = data.pixels.data();
  const std::size_t total = data.pixels.size();
  for (std::size_t i = 0; i < total; ++i) out[i] = standardised[in[i]];
  split.targets.labels.assign(data.labels.begin(), data.labels.end());
  return split;
}

}  // namespace

template <typename Scalar>
FashionMnistTask<Scalar>::FashionMnistTask(std::uint64_t seed, const std::string& directory)
    : train_(load_split<Scalar>(directory, "train", 60000, 6000)),
      test_(load_split<Scalar>(directory, "t10k", 10000, 1000)),
      // A child stream, as in TeacherTask, so the order does not share draws with Rng(seed).
      rng_(Rng(seed).split()),
      order_(static_cast<std::size_t>(train_.x.cols())),
      cursor_(order_.size()) {  // exhausted: the first batch shuffles the first epoch
  std::iota(order_.begin(), order_.end(), Index{0});
}

template <typename Scalar>
void FashionMnistTask<Scalar>::next_batch(Index size, Batch<Scalar>& batch) {
  GRADSCOPE_CHECK(size > 0, "fashion-mnist: batch size {} is not positive", size);
  batch.x.resize(kPixels, size);
  batch.targets.values.resize(0, 0);
  batch.targets.labels.resize(static_cast<std::size_t>(size));
  for (Index j = 0; j < size; ++j) {
    if (cursor_ == order_.size()) {
      // Fisher-Yates with our own below(), so the order is the same on every platform.
      for (std::size_t i = order_.size() - 1; i > 0; --i) {
        std::swap(order_[i], order_[rng_.below(i + 1)]);
      }
      cursor_ = 0;
    }
    const Index sample = order_[cursor_++];
    batch.x.col(j) = train_.x.col(sample);
    batch.targets.labels[static_cast<std::size_t>(j)] =
        train_.targets.labels[static_cast<std::size_t>(sample)];
  }
}

template class FashionMnistTask<float>;
template class FashionMnistTask<double>;

}  // namespace gradscope
