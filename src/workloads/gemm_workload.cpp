// gemm: one float32 product C = A B of square matrices through Eigen's matrix product, the kernel
// behind every dense layer and recurrent step: the machine's ceiling for the other workloads.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gradscope/core/error.hpp"
#include "gradscope/core/memory.hpp"
#include "gradscope/core/random.hpp"
#include "workloads.hpp"

namespace gradscope {

namespace {

class GemmWorkload final : public Workload {
 public:
  explicit GemmWorkload(const WorkloadOptions& options) : size_(options.size) {
    Rng rng(options.seed);
    a_ = rng.normal_matrix<float>(size_, size_);
    b_ = rng.normal_matrix<float>(size_, size_);
    c_.resize(size_, size_);
  }

  void run() override { c_.noalias() = a_ * b_; }

  double flops() const override {
    const double n = static_cast<double>(size_);
    return 2.0 * n * n * n;
  }

  nlohmann::json parameters() const override { return {{"size", size_}, {"dtype", "float32"}}; }

  nlohmann::json result() const override { return {{"c00", c_(0, 0)}}; }

 private:
  Index size_;
  Matrix<float> a_, b_, c_;
};

}  // namespace

std::unique_ptr<Workload> make_gemm_workload(const WorkloadOptions& options) {
  if (options.size < 1)
    throw_bad_input("gemm workload: size must be at least 1, got {}", options.size);
  const auto n = static_cast<std::uint64_t>(options.size);
  check_fits_in_memory(3 * n * n * sizeof(float), fmt::format("a gemm workload of size {}", n));
  return std::make_unique<GemmWorkload>(options);
}

}  // namespace gradscope
