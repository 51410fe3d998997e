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
                                                              double std, std::uint64_t seed) {
  absl::StatusOr<std::int64_t> max_width = MaxWidth(widths);
  if (!max_width.ok()) return max_width.status();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor table = at::normal(0.0, std, {rows, *max_width}, gen).set_requires_grad(true);
  return EntangledEmbedding(std::move(widths), std::move(table));
}

torch::Tensor EntangledEmbedding::Mixed(const torch::Tensor& ids,
                                        const torch::Tensor& choice_weights) const {
  const torch::Tensor columns =
      PrefixCoefficients(widths_, choice_weights.to(table_.dtype()), table_.size(1));
  return torch::embedding(table_ * columns.unsqueeze(0), ids);
}

torch::Tensor EntangledEmbedding::Fixed(const torch::Tensor& ids, int choice) const {
  return torch::embedding(table_.narrow(1, 0, widths_.at(choice)), ids);
}

torch::Tensor EntangledEmbedding::Extract(int choice) const {
  return table_.detach().narrow(1, 0, widths_.at(choice)).clone();
}

absl::StatusOr<EntangledLayerNorm> EntangledLayerNorm::Create(std::vector<std::int64_t> widths) {
  absl::StatusOr<std::int64_t> max_width = MaxWidth(widths);
  if (!max_width.ok()) return max_width.status();
  return EntangledLayerNorm(std::move(widths), torch::ones({*max_width}).set_requires_grad(true),
                            torch::zeros({*max_width}).set_requires_grad(true));
}

torch::Tensor EntangledLayerNorm::Mixed(const torch::Tensor& x,
                                        const torch::Tensor& choice_weights) const {
  const std::int64_t max_width = gain_.size(0);
  torch::Tensor out = torch::zeros_like(x);
  for (size_t k = 0; k < widths_.size(); ++k) {
    const torch::Tensor normalised = Fixed(x.narrow(-1, 0, widths_[k]), static_cast<int>(k));
    out = out + choice_weights[k] *
                    torch::constant_pad_nd(normalised, {0, max_width - widths_[k]});
  }
  return out;
}

torch::Tensor EntangledLayerNorm::Fixed(const torch::Tensor& x, int choice) const {
  const std::int64_t width = widths_.at(choice);
  return torch::layer_norm(x, {width}, gain_.narrow(0, 0, width), bias_.narrow(0, 0, width));
}

std::vector<torch::Tensor> EntangledLayerNorm::Extract(int choice) const {
  const std::int64_t width = widths_.at(choice);
  return {gain_.detach().narrow(0, 0, width).clone(), bias_.detach().narrow(0, 0, width).clone()};
}

}  // namespace pipebench
