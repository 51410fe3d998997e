// Weight superposition for prefix-sliced choices (TangleNAS's "weight entanglement").
//
// A choice set over one super-weight W takes, for candidate k, the prefix block W[:r_k, :c_k].
// Mixing K candidates with architecture weights w means running once with
//     W_mix = sum_k w_k * pad(W[:r_k, :c_k]) = W * C,   C[r, c] = sum_k w_k [r < r_k][c < c_k].
// C is built as one (rows x K) @ (K x cols) product of masks, so memory stays O(|W|) whatever K
// is - never one padded copy of W per candidate - and it is differentiable in w.
#ifndef PIPEBENCH_NAS_ENTANGLED_SUPERPOSITION_H_
#define PIPEBENCH_NAS_ENTANGLED_SUPERPOSITION_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace pipebench {

// [length]: c[i] = sum_k weights[k] * (i < sizes[k]).
torch::Tensor PrefixCoefficients(const std::vector<std::int64_t>& sizes,
                                 const torch::Tensor& weights, std::int64_t length);

// [rows, cols]: C[r, c] = sum_k weights[k] * (r < row_sizes[k]) * (c < col_sizes[k]).
torch::Tensor PrefixCoefficients2D(const std::vector<std::int64_t>& row_sizes,
                                   const std::vector<std::int64_t>& col_sizes,
                                   const torch::Tensor& weights, std::int64_t rows,
                                   std::int64_t cols);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_SUPERPOSITION_H_
