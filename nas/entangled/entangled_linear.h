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

struct LinearShape {
  std::int64_t out = 0;
  std::int64_t in = 0;
};

class EntangledLinear {
 public:
  // Every shape must fit in the largest, which sizes the super-weight. Initialised N(0, std).
  static absl::StatusOr<EntangledLinear> Create(std::vector<LinearShape> choices, double std,
                                                std::uint64_t seed);

  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& choice_weights) const;
  torch::Tensor Fixed(const torch::Tensor& x, int choice) const;
  // {weight [out_k, in_k], bias [out_k]}, copies detached from the supernet.
  std::vector<torch::Tensor> Extract(int choice) const;

  // The superposed {weight, bias}, exposed for tests and memory accounting.
  std::vector<torch::Tensor> Superposed(const torch::Tensor& choice_weights) const;

  const std::vector<LinearShape>& choices() const { return choices_; }
  // Leaf tensors to optimise: {weight, bias}.
  std::vector<torch::Tensor> parameters() const { return {weight_, bias_}; }

 private:
  EntangledLinear(std::vector<LinearShape> choices, torch::Tensor weight, torch::Tensor bias)
      : choices_(std::move(choices)), weight_(std::move(weight)), bias_(std::move(bias)) {}

  std::vector<LinearShape> choices_;
  torch::Tensor weight_;  // [max out, max in]
  torch::Tensor bias_;    // [max out]
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_
