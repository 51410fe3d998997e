#include "nas/entangled/entangled_attention.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "nas/entangled/superposition.h"

namespace pipebench {

namespace {

// Causal attention of projected q, k, v [batch, time, width] split into `heads` heads, before the
// output projection.
torch::Tensor AttendCausally(const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, std::int64_t heads, double dropout) {
  const std::int64_t batch = q.size(0);
  const std::int64_t time = q.size(1);
  const std::int64_t width = q.size(2);
  const std::int64_t head_dim = width / heads;
  auto split = [&](const torch::Tensor& t) {
    return t.view({batch, time, heads, head_dim}).transpose(1, 2);
  };
  torch::Tensor scores =
      torch::matmul(split(q), split(k).transpose(-2, -1)) / std::sqrt(double(head_dim));
  scores = scores.masked_fill(torch::ones({time, time}, torch::kBool).triu(1),
                              -std::numeric_limits<float>::infinity());
  torch::Tensor probabilities = torch::softmax(scores, -1);
  if (dropout > 0) probabilities = torch::dropout(probabilities, dropout, /*train=*/true);
  return torch::matmul(probabilities, split(v)).transpose(1, 2).contiguous().view(
      {batch, time, width});
}

}  // namespace

torch::Tensor CausalSelfAttention(const torch::Tensor& x, const std::vector<torch::Tensor>& w,
                                  std::int64_t heads, double dropout) {
  const torch::Tensor attended =
      AttendCausally(torch::linear(x, w[0], w[1]), torch::linear(x, w[2], w[3]),
                     torch::linear(x, w[4], w[5]), heads, dropout);
  return torch::linear(attended, w[6], w[7]);
}

absl::StatusOr<AttentionMode> ParseAttentionMode(const std::string& name) {
  if (name == "exact") return AttentionMode::kExact;
  if (name == "reference") return AttentionMode::kReference;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown attention mode '", name, "' (exact or reference)"));
}

std::string AttentionModeName(AttentionMode mode) {
  return mode == AttentionMode::kExact ? "exact" : "reference";
}

absl::StatusOr<EntangledAttention> EntangledAttention::Create(std::vector<std::int64_t> widths,
                                                              std::vector<std::int64_t> heads,
                                                              double std, std::uint64_t seed,
                                                              WeightStorage storage,
                                                              AttentionMode mode) {
  if (widths.empty() || heads.empty()) {
    return absl::InvalidArgumentError("attention needs width and head choices");
  }
  if (mode == AttentionMode::kReference && storage != WeightStorage::kEntangled) {
    return absl::InvalidArgumentError(
        "the reference attention mode superposes weights, so it needs entangled storage");
  }
  for (std::int64_t e : widths) {
    for (std::int64_t h : heads) {
      if (e < 1 || h < 1 || e % h != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("embedding width ", e, " is not divisible by ", h, " heads"));
      }
    }
  }
  const std::int64_t max_width = *std::max_element(widths.begin(), widths.end());
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> weights;
  auto append_projections = [&](std::int64_t e) {
    for (int i = 0; i < 4; ++i) {
      weights.push_back(at::normal(0.0, std, {e, e}, gen).set_requires_grad(true));
      weights.push_back(torch::zeros({e}).set_requires_grad(true));
    }
  };
  if (storage == WeightStorage::kEntangled) {
    append_projections(max_width);
  } else {
    for (std::int64_t e : widths) {
      for (size_t h = 0; h < heads.size(); ++h) append_projections(e);
    }
  }
  return EntangledAttention(std::move(widths), std::move(heads), storage, mode,
                            std::move(weights));
}

std::vector<torch::Tensor> EntangledAttention::Candidate(int width, int heads) const {
  if (storage_ == WeightStorage::kSeparate) {
    const size_t first = 8 * (width * heads_.size() + heads);
    return std::vector<torch::Tensor>(weights_.begin() + first, weights_.begin() + first + 8);
  }
  const std::int64_t e = widths_.at(width);
  std::vector<torch::Tensor> sliced;
  for (size_t i = 0; i < weights_.size(); i += 2) {
    sliced.push_back(weights_[i].narrow(0, 0, e).narrow(1, 0, e));
    sliced.push_back(weights_[i + 1].narrow(0, 0, e));
  }
  return sliced;
}

torch::Tensor EntangledAttention::Fixed(const torch::Tensor& x, int width, int heads,
                                        double dropout) const {
  return CausalSelfAttention(x, Candidate(width, heads), heads_.at(heads), dropout);
}

torch::Tensor EntangledAttention::Mixed(const torch::Tensor& x, const torch::Tensor& width_weights,
                                        const torch::Tensor& head_weights, double dropout) const {
  return mode_ == AttentionMode::kExact ? MixedExact(x, width_weights, head_weights, dropout)
                                        : MixedReference(x, width_weights, head_weights, dropout);
}

torch::Tensor EntangledAttention::MixedReference(const torch::Tensor& x,
                                                 const torch::Tensor& width_weights,
                                                 const torch::Tensor& head_weights,
                                                 double dropout) const {
  const std::int64_t max_width = weights_[0].size(0);
  const torch::Tensor a = width_weights.to(weights_[0].dtype());
  const torch::Tensor square = PrefixCoefficients2D(widths_, widths_, a, max_width, max_width);
  const torch::Tensor vector = PrefixCoefficients(widths_, a, max_width);
  std::vector<torch::Tensor> w;
  for (size_t i = 0; i < weights_.size(); i += 2) {
    w.push_back(weights_[i] * square);
    w.push_back(weights_[i + 1] * vector);
  }
  const torch::Tensor q = torch::linear(x, w[0], w[1]);
  const torch::Tensor k = torch::linear(x, w[2], w[3]);
  const torch::Tensor v = torch::linear(x, w[4], w[5]);
  const torch::Tensor b = head_weights.detach();
  torch::Tensor attended;
  for (size_t j = 0; j < heads_.size(); ++j) {
    if (b[j].item<double>() == 0.0) continue;  // one-hot head weights: one attention call
    const torch::Tensor y = head_weights[j] * AttendCausally(q, k, v, heads_[j], dropout);
    attended = attended.defined() ? attended + y : y;
  }
  return torch::linear(attended, w[6], w[7]);
}

torch::Tensor EntangledAttention::MixedExact(const torch::Tensor& x,
                                             const torch::Tensor& width_weights,
                                             const torch::Tensor& head_weights,
                                             double dropout) const {
  const std::int64_t max_width = *std::max_element(widths_.begin(), widths_.end());
  torch::Tensor out = torch::zeros_like(x);
  // Reading the weights once keeps one-hot mixtures at a single attention call.
  const torch::Tensor a = width_weights.detach();
  const torch::Tensor b = head_weights.detach();
  for (size_t i = 0; i < widths_.size(); ++i) {
    for (size_t j = 0; j < heads_.size(); ++j) {
      if (a[i].item<double>() == 0.0 || b[j].item<double>() == 0.0) continue;
      const torch::Tensor y = Fixed(x.narrow(-1, 0, widths_[i]), static_cast<int>(i),
                                    static_cast<int>(j), dropout);
      out = out + width_weights[i] * head_weights[j] *
                      torch::constant_pad_nd(y, {0, max_width - widths_[i]});
    }
  }
  return out;
}

std::vector<torch::Tensor> EntangledAttention::Extract(int width, int heads) const {
  std::vector<torch::Tensor> copies;
  for (const torch::Tensor& w : Candidate(width, heads)) copies.push_back(w.detach().clone());
  return copies;
}

}  // namespace pipebench
