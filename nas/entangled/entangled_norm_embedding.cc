#include "nas/entangled/entangled_norm_embedding.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nas/entangled/superposition.h"

namespace pipebench {
namespace {

absl::StatusOr<std::int64_t> MaxWidth(const std::vector<std::int64_t>& widths) {
  if (widths.empty()) return absl::InvalidArgumentError("an entangled layer needs choices");
  for (std::int64_t w : widths) {
    if (w < 1) return absl::InvalidArgumentError(absl::StrCat("choice width ", w, " must be >= 1"));
  }
  return *std::max_element(widths.begin(), widths.end());
}

}  // namespace

absl::StatusOr<EntangledEmbedding> EntangledEmbedding::Create(std::int64_t rows,
                                                              std::vector<std::int64_t> widths,
                                                              double std, std::uint64_t seed,
                                                              WeightStorage storage) {
  absl::StatusOr<std::int64_t> max_width = MaxWidth(widths);
  if (!max_width.ok()) return max_width.status();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> tables;
  if (storage == WeightStorage::kEntangled) {
    tables.push_back(at::normal(0.0, std, {rows, *max_width}, gen).set_requires_grad(true));
  } else {
    for (std::int64_t w : widths) {
      tables.push_back(at::normal(0.0, std, {rows, w}, gen).set_requires_grad(true));
    }
  }
  return EntangledEmbedding(std::move(widths), storage, std::move(tables));
}

torch::Tensor EntangledEmbedding::Table(int choice) const {
  return storage_ == WeightStorage::kSeparate ? tables_.at(choice)
                                              : tables_[0].narrow(1, 0, widths_.at(choice));
}

torch::Tensor EntangledEmbedding::Mixed(const torch::Tensor& ids,
                                        const torch::Tensor& choice_weights) const {
  if (storage_ == WeightStorage::kEntangled) {
    const torch::Tensor columns =
        PrefixCoefficients(widths_, choice_weights.to(tables_[0].dtype()), tables_[0].size(1));
    return torch::embedding(tables_[0] * columns.unsqueeze(0), ids);
  }
  const std::int64_t max_width = *std::max_element(widths_.begin(), widths_.end());
  torch::Tensor out;
  for (size_t k = 0; k < widths_.size(); ++k) {
    const torch::Tensor y = choice_weights[k] * torch::constant_pad_nd(
                                                    Fixed(ids, static_cast<int>(k)),
                                                    {0, max_width - widths_[k]});
    out = out.defined() ? out + y : y;
  }
  return out;
}

torch::Tensor EntangledEmbedding::Fixed(const torch::Tensor& ids, int choice) const {
  return torch::embedding(Table(choice), ids);
}

torch::Tensor EntangledEmbedding::Extract(int choice) const {
  return Table(choice).detach().clone();
}

absl::StatusOr<EntangledLayerNorm> EntangledLayerNorm::Create(std::vector<std::int64_t> widths,
                                                              WeightStorage storage) {
  absl::StatusOr<std::int64_t> max_width = MaxWidth(widths);
  if (!max_width.ok()) return max_width.status();
  std::vector<torch::Tensor> params;
  for (std::int64_t w :
       storage == WeightStorage::kEntangled ? std::vector<std::int64_t>{*max_width} : widths) {
    params.push_back(torch::ones({w}).set_requires_grad(true));
    params.push_back(torch::zeros({w}).set_requires_grad(true));
  }
  return EntangledLayerNorm(std::move(widths), storage, std::move(params));
}

std::pair<torch::Tensor, torch::Tensor> EntangledLayerNorm::Candidate(int choice) const {
  if (storage_ == WeightStorage::kSeparate) return {params_[2 * choice], params_[2 * choice + 1]};
  const std::int64_t width = widths_.at(choice);
  return {params_[0].narrow(0, 0, width), params_[1].narrow(0, 0, width)};
}

torch::Tensor EntangledLayerNorm::Mixed(const torch::Tensor& x,
                                        const torch::Tensor& choice_weights) const {
  const std::int64_t max_width = *std::max_element(widths_.begin(), widths_.end());
  torch::Tensor out = torch::zeros_like(x);
  for (size_t k = 0; k < widths_.size(); ++k) {
    const torch::Tensor normalised = Fixed(x.narrow(-1, 0, widths_[k]), static_cast<int>(k));
    out = out + choice_weights[k] *
                    torch::constant_pad_nd(normalised, {0, max_width - widths_[k]});
  }
  return out;
}

torch::Tensor EntangledLayerNorm::Fixed(const torch::Tensor& x, int choice) const {
  const auto [gain, bias] = Candidate(choice);
  return torch::layer_norm(x, {widths_.at(choice)}, gain, bias);
}

std::vector<torch::Tensor> EntangledLayerNorm::Extract(int choice) const {
  const auto [gain, bias] = Candidate(choice);
  return {gain.detach().clone(), bias.detach().clone()};
}

}  // namespace pipebench
