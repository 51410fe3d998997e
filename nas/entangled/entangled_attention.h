// Causal self-attention entangled over the embedding width e (a global choice) and the head count
// h (a per-layer choice). Candidate (e, h) uses the first e rows and columns of separate q, k, v
// and output projections, split into h heads of e / h features.
//
// q, k and v are separate super-weights on purpose: slicing one fused [3e_max, e_max] matrix at e
// mixes up q, k and v for e < e_max (the bug in the original GPT space). Because the head split
// depends on both e and h, mixing superposes outputs: sum over candidates with non-zero weight
// a_e * b_h of pad(attention_(e,h)(x[:, :e])). With one-hot weights (GDAS, SPOS, derivation) that
// is a single attention call, exactly the extracted module's. With dense weights (DARTS, DrNAS) it
// is |widths| x |heads| attention calls: the price of exactness.
//
// AttentionMode::kReference is the released TangleNAS code's cheaper mixing, kept as an option to
// measure against: the q/k/v/output weights are superposed over the width choices (one projection
// each at the maximum width, like EntangledLinear), and attention runs once per head count h on
// those max-width projections split into h heads of max_width / h features, softmax scaled by that
// padded head size; the head-count outputs are summed with weights b_h. Its one-hot mixture is not
// the extracted network whenever the width is below the maximum (the heads straddle the padding).
#ifndef PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_
#define PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nas/entangled/entangled_linear.h"

namespace pipebench {

// Standalone causal self-attention on x [batch, time, e] with {wq, bq, wk, bk, wv, bv, wo, bo}.
// `dropout` (0 outside training) applies to the attention probabilities, as in GPT-2.
torch::Tensor CausalSelfAttention(const torch::Tensor& x, const std::vector<torch::Tensor>& w,
                                  std::int64_t heads, double dropout = 0.0);

enum class AttentionMode { kExact, kReference };

// "exact" or "reference".
absl::StatusOr<AttentionMode> ParseAttentionMode(const std::string& name);
std::string AttentionModeName(AttentionMode mode);

class EntangledAttention {
 public:
  // Every width must be divisible by every head count.
  // With separate storage every (width, heads) candidate has its own projections; the reference
  // mode superposes weights, so it needs entangled storage.
  static absl::StatusOr<EntangledAttention> Create(
      std::vector<std::int64_t> widths, std::vector<std::int64_t> heads, double std,
      std::uint64_t seed, WeightStorage storage = WeightStorage::kEntangled,
      AttentionMode mode = AttentionMode::kExact);

  // x [batch, time, max width]; width_weights [|widths|], head_weights [|heads|].
  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& width_weights,
                      const torch::Tensor& head_weights, double dropout = 0.0) const;
  // x [batch, time, widths[width]] -> same shape.
  torch::Tensor Fixed(const torch::Tensor& x, int width, int heads, double dropout = 0.0) const;
  // Candidate (width, heads)'s {wq, bq, wk, bk, wv, bv, wo, bo}, detached copies (entangled
  // candidates of one width share them whatever the head count).
  std::vector<torch::Tensor> Extract(int width, int heads = 0) const;
  const std::vector<torch::Tensor>& parameters() const { return weights_; }
  // The same layer computing with `params` (shaped and ordered as parameters()) in place of its
  // own: a pipeline stage's current weight version.
  EntangledAttention WithParameters(std::vector<torch::Tensor> params) const {
    return EntangledAttention(widths_, heads_, storage_, mode_, std::move(params));
  }

 private:
  EntangledAttention(std::vector<std::int64_t> widths, std::vector<std::int64_t> heads,
                     WeightStorage storage, AttentionMode mode, std::vector<torch::Tensor> weights)
      : widths_(std::move(widths)), heads_(std::move(heads)), storage_(storage), mode_(mode),
        weights_(std::move(weights)) {}
  std::vector<torch::Tensor> Candidate(int width, int heads) const;
  torch::Tensor MixedExact(const torch::Tensor& x, const torch::Tensor& width_weights,
                           const torch::Tensor& head_weights, double dropout) const;
  torch::Tensor MixedReference(const torch::Tensor& x, const torch::Tensor& width_weights,
                               const torch::Tensor& head_weights, double dropout) const;

  std::vector<std::int64_t> widths_;
  std::vector<std::int64_t> heads_;
  WeightStorage storage_;
  AttentionMode mode_;
  // wq, bq, wk, bk, wv, bv, wo, bo at max width; or 8 per candidate, width-major.
  std::vector<torch::Tensor> weights_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_ATTENTION_H_
