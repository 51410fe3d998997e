// A Linear layer whose candidate shapes are prefix blocks of one super-weight.
//
// Candidate k maps the first in_k input features to the first out_k outputs with W[:out_k, :in_k]
// and b[:out_k]. Three ways to run it:
//  - Mixed(x, w): one forward with the superposed weight (superposition.h); x and the result are
//    max width, the unused tail carrying whatever the mixture puts there.
//  - Fixed(x, k): candidate k alone on [.., in_k] inputs, giving [.., out_k].
//  - Extract(k): candidate k's weights as standalone tensors (inherited by the derived network).
// With one-hot w, Mixed equals Fixed padded with zeros, which equals the extracted layer.
#ifndef PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_
#define PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace pipebench {

// How a choice set keeps its weights: entangled (prefix slices of one super-weight, TangleNAS) or
// separate (one weight per candidate, the weight-sharing baseline whose outputs are summed).
enum class WeightStorage { kEntangled, kSeparate };

struct LinearShape {
  std::int64_t out = 0;
  std::int64_t in = 0;
};

class EntangledLinear {
 public:
  // Every shape must fit in the largest, which sizes the super-weight. Initialised N(0, std).
  static absl::StatusOr<EntangledLinear> Create(
      std::vector<LinearShape> choices, double std, std::uint64_t seed,
      WeightStorage storage = WeightStorage::kEntangled);

  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& choice_weights) const;
  torch::Tensor Fixed(const torch::Tensor& x, int choice) const;
  // {weight [out_k, in_k], bias [out_k]}, copies detached from the supernet.
  std::vector<torch::Tensor> Extract(int choice) const;

  // The superposed {weight, bias} (entangled storage only), exposed for tests.
  std::vector<torch::Tensor> Superposed(const torch::Tensor& choice_weights) const;

  const std::vector<LinearShape>& choices() const { return choices_; }
  // Leaf tensors to optimise: {weight, bias}, or one pair per candidate when stored separately.
  std::vector<torch::Tensor> parameters() const { return params_; }

 private:
  EntangledLinear(std::vector<LinearShape> choices, WeightStorage storage,
                  std::vector<torch::Tensor> params, std::int64_t max_out)
      : choices_(std::move(choices)), storage_(storage), params_(std::move(params)),
        max_out_(max_out) {}
  // Candidate k's {weight, bias}: slices of the super-weight, or its own tensors.
  std::pair<torch::Tensor, torch::Tensor> Candidate(int k) const;

  std::vector<LinearShape> choices_;
  WeightStorage storage_;
  std::vector<torch::Tensor> params_;  // {weight [max out, max in], bias} or per candidate
  std::int64_t max_out_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_
