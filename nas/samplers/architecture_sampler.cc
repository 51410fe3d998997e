#include "nas/samplers/architecture_sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pipebench {

absl::StatusOr<SamplerKind> ParseSamplerKind(const std::string& name) {
  if (name == "darts") return SamplerKind::kDartsSoftmax;
  if (name == "darts_sparsemax") return SamplerKind::kDartsSparsemax;
  if (name == "drnas") return SamplerKind::kDrnas;
  if (name == "gdas") return SamplerKind::kGdas;
  if (name == "spos") return SamplerKind::kSpos;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown optimizer '", name, "'; known: darts, darts_sparsemax, drnas, gdas, spos"));
}

torch::Tensor Sparsemax(const torch::Tensor& logits) {
  const torch::Tensor sorted = std::get<0>(logits.sort(-1, /*descending=*/true));
  const torch::Tensor cumulative = sorted.cumsum(-1);
  const std::int64_t n = logits.size(-1);
  const torch::Tensor k = torch::arange(1, n + 1, logits.options());
  // Support: the largest k with 1 + k * z_(k) > sum of the k largest.
  const torch::Tensor in_support = (1 + k * sorted > cumulative).to(logits.dtype());
  const torch::Tensor support = in_support.sum(-1, /*keepdim=*/true);
  const torch::Tensor threshold =
      (cumulative.gather(-1, support.to(torch::kInt64) - 1) - 1) / support;
  return torch::clamp_min(logits - threshold, 0);
}

double GdasTemperature(int step, int total_steps, double tau_max, double tau_min) {
  if (total_steps <= 1) return tau_min;
  const double progress = std::clamp(double(step) / (total_steps - 1), 0.0, 1.0);
  return tau_max - (tau_max - tau_min) * progress;
}

ArchitectureSampler::ArchitectureSampler(SamplerKind kind, std::uint64_t seed)
    : kind_(kind), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

torch::Tensor ArchitectureSampler::Sample(const torch::Tensor& alpha, double temperature) {
  switch (kind_) {
    case SamplerKind::kDartsSoftmax:
      return torch::softmax(alpha, -1);
    case SamplerKind::kDartsSparsemax:
      return Sparsemax(alpha);
    case SamplerKind::kDrnas: {
      // Dirichlet as normalised Gamma draws; _standard_gamma carries the reparameterised gradient.
      const torch::Tensor concentration = torch::elu(alpha) + 1;
      const torch::Tensor gamma = at::_standard_gamma(concentration, generator_);
      return gamma / gamma.sum(-1, /*keepdim=*/true);
    }
    case SamplerKind::kGdas: {
      const torch::Tensor uniform =
          at::rand(alpha.sizes(), generator_, alpha.options().requires_grad(false))
              .clamp(1e-10, 1 - 1e-10);
      const torch::Tensor gumbel = -torch::log(-torch::log(uniform));
      const torch::Tensor soft =
          torch::softmax((torch::log_softmax(alpha, -1) + gumbel) / temperature, -1);
      const torch::Tensor hard =
          torch::zeros_like(soft).scatter_(-1, soft.argmax(-1, /*keepdim=*/true), 1.0);
      return hard - soft.detach() + soft;
    }
    case SamplerKind::kSpos: {
      const torch::Tensor uniform = at::rand(alpha.sizes(), generator_, alpha.options());
      return torch::zeros_like(alpha).scatter_(-1, uniform.argmax(-1, /*keepdim=*/true), 1.0);
    }
  }
  return torch::softmax(alpha, -1);
}

}  // namespace pipebench
