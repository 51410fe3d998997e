// Turns architecture parameters alpha (one row of logits per decision) into the weights the
// entangled layers mix candidates with. The search optimizers differ only here:
//  - kDartsSoftmax:   softmax(alpha)
//  - kDartsSparsemax: sparsemax(alpha), the variant the released TangleNAS code switched to
//  - kDrnas:          a Dirichlet(elu(alpha) + 1) draw with reparameterised gradients
//  - kGdas:           a hard one-hot Gumbel-softmax draw at temperature tau, straight-through
//  - kSpos:           a uniform one-hot draw (single path); alpha gets no gradient
#ifndef PIPEBENCH_NAS_SAMPLERS_ARCHITECTURE_SAMPLER_H_
#define PIPEBENCH_NAS_SAMPLERS_ARCHITECTURE_SAMPLER_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace pipebench {

enum class SamplerKind { kDartsSoftmax, kDartsSparsemax, kDrnas, kGdas, kSpos };

// "darts", "darts_sparsemax", "drnas", "gdas", "spos".
absl::StatusOr<SamplerKind> ParseSamplerKind(const std::string& name);

// Sparsemax along the last dimension (Martins & Astudillo 2016), differentiable.
torch::Tensor Sparsemax(const torch::Tensor& logits);

// GDAS's temperature: linear from tau_max to tau_min over `total_steps`.
double GdasTemperature(int step, int total_steps, double tau_max = 10.0, double tau_min = 0.1);

class ArchitectureSampler {
 public:
  ArchitectureSampler(SamplerKind kind, std::uint64_t seed);

  // Mixing weights with alpha's shape; each row sums to 1. `temperature` is used by GDAS only.
  torch::Tensor Sample(const torch::Tensor& alpha, double temperature = 1.0);

  SamplerKind kind() const { return kind_; }

 private:
  SamplerKind kind_;
  at::Generator generator_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SAMPLERS_ARCHITECTURE_SAMPLER_H_
