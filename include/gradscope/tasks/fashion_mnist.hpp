// Fashion-MNIST (Xiao et al. 2017), read from the IDX files of Debian's dataset-fashion-mnist
// package (/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz).
//
// Images become columns of 784 pixels scaled to [0, 1] and then standardised with the training
// set's mean and standard deviation (0.2860, 0.3530); labels are 0..9. 60,000 training and 10,000
// test images; each class has 6,000 and 1,000 of them. Training batches are drawn without
// replacement from a reshuffled epoch (shuffled by the seed). Loss: cross-entropy.
#pragma once

#include <string>
#include <vector>

#include "gradscope/core/random.hpp"
#include "gradscope/tasks/idx_reader.hpp"
#include "gradscope/tasks/task.hpp"

namespace gradscope {

inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

template <typename Scalar>
class FashionMnistTask final : public Task<Scalar> {
 public:
  // `directory` holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-...
  FashionMnistTask(std::uint64_t seed, const std::string& directory = kFashionMnistDefaultDir);

  std::string_view name() const override { return "fashion-mnist"; }
  Index input_size() const override { return 784; }
  Index output_size() const override { return 10; }
  LossKind loss() const override { return LossKind::kCrossEntropy; }
  void next_batch(Index size, Batch<Scalar>& batch) override;
  const Batch<Scalar>& test_set() const override { return test_; }

  Index train_size() const { return train_.x.cols(); }
  const Batch<Scalar>& train_set() const { return train_; }

 private:
  Batch<Scalar> train_;
  Batch<Scalar> test_;
  Rng rng_;
  std::vector<Index> order_;
  std::size_t cursor_ = 0;
};

}  // namespace gradscope
