// A Linear layer whose candidate shapes are prefix blocks of one super-weight.
//
// Candidate k maps the first in_k input features to the first out_k outputs with W[:out_k, :in_k]
// and b[:out_k] (a layer may have no bias: the language-model head). Three ways to run it:
//  - Mixed(x, w): one forward with the superposed weight (superposition.h); x and the result are
//    max width, the unused tail carrying whatever the mixture puts there.
//  - Fixed(x, k): candidate k alone on [.., in_k] inputs, giving [.., out_k].
//  - Extract(k): candidate k's weights as standalone tensors (inherited by the derived network).
// With one-hot w, Mixed equals Fixed padded with zeros, which equals the extracted layer.
#ifndef PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_
#define PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pipebench {

// How a choice set keeps its weights: entangled (prefix slices of one super-weight, TangleNAS) or
// separate (one weight per candidate, the weight-sharing baseline whose outputs are summed).
enum class WeightStorage { kEntangled, kSeparate };

// "entangled" or "separate".
absl::StatusOr<WeightStorage> ParseWeightStorage(const std::string& name);
std::string WeightStorageName(WeightStorage storage);

struct LinearShape {
  std::int64_t out = 0;
  std::int64_t in = 0;
};

class EntangledLinear {
 public:
  // Every shape must fit in the largest, which sizes the super-weight. Initialised N(0, std),
  // biases (when `with_bias`) zero.
  static absl::StatusOr<EntangledLinear> Create(
      std::vector<LinearShape> choices, double std, std::uint64_t seed,
      WeightStorage storage = WeightStorage::kEntangled, bool with_bias = true);

  // A bias-free layer whose weights are another module's leaf tensors (`weights`: the one
  // super-weight, or one per candidate, shaped like Create's): a language-model head tied to the
  // token embedding. It has no parameters of its own, since the weights have an owner.
  static absl::StatusOr<EntangledLinear> CreateSharingWeights(std::vector<LinearShape> choices,
                                                              std::vector<torch::Tensor> weights,
                                                              WeightStorage storage);

  torch::Tensor Mixed(const torch::Tensor& x, const torch::Tensor& choice_weights) const;
  torch::Tensor Fixed(const torch::Tensor& x, int choice) const;
  // {weight [out_k, in_k], bias [out_k]} ({weight} without a bias), copies detached from the
  // supernet.
  std::vector<torch::Tensor> Extract(int choice) const;

  // The superposed {weight, bias} (entangled storage only; the bias undefined without one),
  // exposed for tests.
  std::vector<torch::Tensor> Superposed(const torch::Tensor& choice_weights) const;

  const std::vector<LinearShape>& choices() const { return choices_; }
  // Leaf tensors to optimise: {weight, bias}, or one pair per candidate when stored separately
  // (no bias entries for a bias-free layer; nothing when the weights are shared).
  std::vector<torch::Tensor> parameters() const;
  // The same layer computing with `params` (shaped and ordered as parameters()) in place of its
  // own: a pipeline stage's current weight version. Not for a layer sharing its weights, which
  // has no parameters of its own.
  EntangledLinear WithParameters(std::vector<torch::Tensor> params) const;

 private:
  EntangledLinear(std::vector<LinearShape> choices, WeightStorage storage,
                  std::vector<torch::Tensor> params, std::int64_t max_out, bool with_bias,
                  bool shares_weights)
      : choices_(std::move(choices)), storage_(storage), params_(std::move(params)),
        max_out_(max_out), with_bias_(with_bias), shares_weights_(shares_weights) {}
  // Candidate k's {weight, bias}: slices of the super-weight, or its own tensors (an undefined
  // bias for a bias-free layer).
  std::pair<torch::Tensor, torch::Tensor> Candidate(int k) const;
  int TensorsPerCandidate() const { return with_bias_ ? 2 : 1; }

  std::vector<LinearShape> choices_;
  WeightStorage storage_;
  // {weight [max out, max in], bias} or per candidate; weights only without biases
  std::vector<torch::Tensor> params_;
  std::int64_t max_out_;
  bool with_bias_;
  bool shares_weights_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_ENTANGLED_LINEAR_H_
