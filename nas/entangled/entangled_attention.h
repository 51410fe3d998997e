// Causal self-attention entangled over the embedding width e (a global choice) and the head count
// h (a per-layer choice). Candidate (e, h) uses the first e rows and columns of separate q, k, v
// and output projections, split into h heads of e / h features.
//
// q, k and v are separate super-weights on purpose: slicing one fused [3e_max, e_max] matrix at e
// mixes up q, k and v for e < e_max (the bug in the original GPT space). Because the head split
// depends on both e and h, mixing superposes outputs: sum over candidates with non-zero weight
// a_e * b_h of pad(attention_(e,h)(x[:, :e])). With one-hot weights (GDAS, SPOS, derivation) that
// is a single attention call, exactly the extracted module's.
#ifndef PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_
#define PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "nas/entangled/entangled_linear.h"

namespace pipebench {

// Standalone causal self-attention on x [batch, time, e] with {wq, bq, wk, bk, wv, bv, wo, bo}.
torch::Tensor CausalSelfAttention(const torch::Tensor& x, const std::vector<torch::Tensor>& w,
                                  std::int64_t heads);

class EntangledAttention {
 public:
  // Every width must be divisible by every head count.
  // With separate storage every (width, heads) candidate has its own projections.
  static absl::StatusOr<EntangledAttention> Create(
      std::vector<std::int64_t> widths, std::vector<std::int64_t> heads, double std,
      std::uint64_t seed, WeightStorage storage = WeightStorage::kEntangled);

  // x [batch, time, max width]; width_weights [|widths|], head_weights [|heads|].
  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& width_weights,
                      const torch::Tensor& head_weights) const;
  // x [batch, time, widths[width]] -> same shape.
  torch::Tensor Fixed(const torch::Tensor& x, int width, int heads) const;
  // Candidate (width, heads)'s {wq, bq, wk, bk, wv, bv, wo, bo}, detached copies (entangled
  // candidates of one width share them whatever the head count).
  std::vector<torch::Tensor> Extract(int width, int heads = 0) const;
  const std::vector<torch::Tensor>& parameters() const { return weights_; }

 private:
  EntangledAttention(std::vector<std::int64_t> widths, std::vector<std::int64_t> heads,
                     WeightStorage storage, std::vector<torch::Tensor> weights)
      : widths_(std::move(widths)), heads_(std::move(heads)), storage_(storage),
        weights_(std::move(weights)) {}
  std::vector<torch::Tensor> Candidate(int width, int heads) const;

  std::vector<std::int64_t> widths_;
  std::vector<std::int64_t> heads_;
  WeightStorage storage_;
  // wq, bq, wk, bk, wv, bv, wo, bo at max width; or 8 per candidate, width-major.
  std::vector<torch::Tensor> weights_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_
