#include "nas/entangled/superposition.h"

namespace pipebench {
namespace {

// [length, K]: column k is 1 on the first sizes[k] entries.
torch::Tensor PrefixMasks(const std::vector<std::int64_t>& sizes, std::int64_t length,
                          const torch::TensorOptions& options) {
  const torch::Tensor index = torch::arange(length, options).unsqueeze(1);
  const torch::Tensor limits = torch::tensor(sizes, options).unsqueeze(0);
  return (index < limits).to(options.dtype());
}

}  // namespace

torch::Tensor PrefixCoefficients(const std::vector<std::int64_t>& sizes,
                                 const torch::Tensor& weights, std::int64_t length) {
  return torch::mv(PrefixMasks(sizes, length, weights.options()), weights);
}

torch::Tensor PrefixCoefficients2D(const std::vector<std::int64_t>& row_sizes,
                                   const std::vector<std::int64_t>& col_sizes,
                                   const torch::Tensor& weights, std::int64_t rows,
                                   std::int64_t cols) {
  const torch::Tensor weighted_rows =
      PrefixMasks(row_sizes, rows, weights.options()) * weights.unsqueeze(0);
  return torch::mm(weighted_rows, PrefixMasks(col_sizes, cols, weights.options()).t());
}

}  // namespace pipebench
