// Entangled Embedding and LayerNorm: candidate k uses the first e_k features of one super-table or
// super-(gain, bias). Same three modes as EntangledLinear (Mixed, Fixed, Extract).
//
// The embedding superposes its table: E_mix = sum_k w_k pad(E[:, :e_k]), one lookup.
// The LayerNorm superposes outputs instead, sum_k w_k pad(LN(x[:, :e_k])): each candidate
// normalises over its own width, so a one-hot mixture computes exactly what the extracted network
// will (the original code normalised over the full width in mixing mode, so supernet and derived
// network disagreed). K small normalisations cost little next to the matrix products.
#ifndef PIPEBENCH_NAS_ENTANGLED_ENTANGLED_NORM_EMBEDDING_H_
#define PIPEBENCH_NAS_ENTANGLED_ENTANGLED_NORM_EMBEDDING_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "nas/entangled/entangled_linear.h"

namespace pipebench {

class EntangledEmbedding {
 public:
  static absl::StatusOr<EntangledEmbedding> Create(
      std::int64_t rows, std::vector<std::int64_t> widths, double std, std::uint64_t seed,
      WeightStorage storage = WeightStorage::kEntangled);
  // ids: int64 indices; result [.., max width].
  torch::Tensor Mixed(const torch::Tensor& ids, const torch::Tensor& choice_weights) const;
  torch::Tensor Fixed(const torch::Tensor& ids, int choice) const;
  torch::Tensor Extract(int choice) const;  // [rows, e_k]
  std::vector<torch::Tensor> parameters() const { return tables_; }
  // The same layer computing with `params` (shaped and ordered as parameters()) in place of its
  // own: a pipeline stage's current weight version.
  EntangledEmbedding WithParameters(std::vector<torch::Tensor> params) const {
    return EntangledEmbedding(widths_, storage_, std::move(params));
  }

 private:
  EntangledEmbedding(std::vector<std::int64_t> widths, WeightStorage storage,
                     std::vector<torch::Tensor> tables)
      : widths_(std::move(widths)), storage_(storage), tables_(std::move(tables)) {}
  torch::Tensor Table(int choice) const;
  std::vector<std::int64_t> widths_;
  WeightStorage storage_;
  std::vector<torch::Tensor> tables_;  // one [rows, max width], or one per candidate
};

class EntangledLayerNorm {
 public:
  static absl::StatusOr<EntangledLayerNorm> Create(
      std::vector<std::int64_t> widths, WeightStorage storage = WeightStorage::kEntangled);
  // x: [.., max width], zero beyond the active width is not required.
  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& choice_weights) const;
  torch::Tensor Fixed(const torch::Tensor& x, int choice) const;  // x: [.., e_k]
  std::vector<torch::Tensor> Extract(int choice) const;           // {gain [e_k], bias [e_k]}
  std::vector<torch::Tensor> parameters() const { return params_; }
  // The same layer computing with `params` (shaped and ordered as parameters()) in place of its
  // own: a pipeline stage's current weight version.
  EntangledLayerNorm WithParameters(std::vector<torch::Tensor> params) const {
    return EntangledLayerNorm(widths_, storage_, std::move(params));
  }

 private:
  EntangledLayerNorm(std::vector<std::int64_t> widths, WeightStorage storage,
                     std::vector<torch::Tensor> params)
      : widths_(std::move(widths)), storage_(storage), params_(std::move(params)) {}
  std::pair<torch::Tensor, torch::Tensor> Candidate(int choice) const;
  std::vector<std::int64_t> widths_;
  WeightStorage storage_;
  std::vector<torch::Tensor> params_;  // {gain, bias} at max width, or a pair per candidate
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_NORM_EMBEDDING_H_
