#include "nas/entangled/entangled_linear.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nas/entangled/superposition.h"

namespace pipebench {

absl::StatusOr<WeightStorage> ParseWeightStorage(const std::string& name) {
  if (name == "entangled") return WeightStorage::kEntangled;
  if (name == "separate") return WeightStorage::kSeparate;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown weight storage '", name, "' (entangled or separate)"));
}

std::string WeightStorageName(WeightStorage storage) {
  return storage == WeightStorage::kEntangled ? "entangled" : "separate";
}

namespace {

absl::StatusOr<LinearShape> LargestShape(const std::vector<LinearShape>& choices) {
  if (choices.empty()) return absl::InvalidArgumentError("an entangled layer needs choices");
  LinearShape largest;
  for (const LinearShape& s : choices) {
    if (s.out < 1 || s.in < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("choice shape ", s.out, "x", s.in, " must be at least 1x1"));
    }
    largest.out = std::max(largest.out, s.out);
    largest.in = std::max(largest.in, s.in);
  }
  return largest;
}

}  // namespace

absl::StatusOr<EntangledLinear> EntangledLinear::Create(std::vector<LinearShape> choices,
                                                        double std, std::uint64_t seed,
                                                        WeightStorage storage, bool with_bias) {
  absl::StatusOr<LinearShape> largest = LargestShape(choices);
  if (!largest.ok()) return largest.status();
  const std::int64_t max_out = largest->out;
  const std::int64_t max_in = largest->in;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> params;
  if (storage == WeightStorage::kEntangled) {
    params.push_back(at::normal(0.0, std, {max_out, max_in}, gen).set_requires_grad(true));
    if (with_bias) params.push_back(torch::zeros({max_out}).set_requires_grad(true));
  } else {
    for (const LinearShape& s : choices) {
      params.push_back(at::normal(0.0, std, {s.out, s.in}, gen).set_requires_grad(true));
      if (with_bias) params.push_back(torch::zeros({s.out}).set_requires_grad(true));
    }
  }
  return EntangledLinear(std::move(choices), storage, std::move(params), max_out, with_bias,
                         /*shares_weights=*/false);
}

absl::StatusOr<EntangledLinear> EntangledLinear::CreateSharingWeights(
    std::vector<LinearShape> choices, std::vector<torch::Tensor> weights, WeightStorage storage) {
  absl::StatusOr<LinearShape> largest = LargestShape(choices);
  if (!largest.ok()) return largest.status();
  std::vector<LinearShape> expected =
      storage == WeightStorage::kEntangled ? std::vector<LinearShape>{*largest} : choices;
  if (weights.size() != expected.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a layer sharing weights needs ",
                                                   expected.size(), " of them, got ",
                                                   weights.size()));
  }
  std::vector<torch::Tensor> params;
  for (size_t k = 0; k < weights.size(); ++k) {
    if (weights[k].dim() != 2 || weights[k].size(0) != expected[k].out ||
        weights[k].size(1) != expected[k].in) {
      return absl::InvalidArgumentError(absl::StrCat("shared weight ", k, " is not ",
                                                     expected[k].out, "x", expected[k].in));
    }
    params.push_back(weights[k]);
  }
  return EntangledLinear(std::move(choices), storage, std::move(params), largest->out,
                         /*with_bias=*/false, /*shares_weights=*/true);
}

std::vector<torch::Tensor> EntangledLinear::parameters() const {
  if (shares_weights_) return {};
  return params_;
}

EntangledLinear EntangledLinear::WithParameters(std::vector<torch::Tensor> params) const {
  TORCH_CHECK(!shares_weights_ && params.size() == params_.size(),
              "WithParameters needs ", params_.size(), " tensors of a layer's own");
  return EntangledLinear(choices_, storage_, std::move(params), max_out_, with_bias_,
                         shares_weights_);
}

std::pair<torch::Tensor, torch::Tensor> EntangledLinear::Candidate(int k) const {
  const LinearShape& s = choices_.at(k);
  if (storage_ == WeightStorage::kSeparate) {
    const int first = TensorsPerCandidate() * k;
    return {params_[first], with_bias_ ? params_[first + 1] : torch::Tensor()};
  }
  return {params_[0].narrow(0, 0, s.out).narrow(1, 0, s.in),
          with_bias_ ? params_[1].narrow(0, 0, s.out) : torch::Tensor()};
}

std::vector<torch::Tensor> EntangledLinear::Superposed(const torch::Tensor& choice_weights) const {
  std::vector<std::int64_t> outs;
  std::vector<std::int64_t> ins;
  for (const LinearShape& s : choices_) {
    outs.push_back(s.out);
    ins.push_back(s.in);
  }
  const torch::Tensor w = choice_weights.to(params_[0].dtype());
  const torch::Tensor& weight = params_[0];
  torch::Tensor bias;
  if (with_bias_) bias = params_[1] * PrefixCoefficients(outs, w, params_[1].size(0));
  return {weight * PrefixCoefficients2D(outs, ins, w, weight.size(0), weight.size(1)), bias};
}

torch::Tensor EntangledLinear::Mixed(const torch::Tensor& x,
                                     const torch::Tensor& choice_weights) const {
  if (storage_ == WeightStorage::kEntangled) {
    const std::vector<torch::Tensor> mixed = Superposed(choice_weights);
    return torch::linear(x, mixed[0], mixed[1]);
  }
  // Weight sharing: every candidate runs on its own weights; outputs are padded and summed.
  torch::Tensor out;
  for (size_t k = 0; k < choices_.size(); ++k) {
    const torch::Tensor y = torch::constant_pad_nd(
        Fixed(x.narrow(-1, 0, choices_[k].in), static_cast<int>(k)), {0, max_out_ - choices_[k].out});
    out = out.defined() ? out + choice_weights[k] * y : choice_weights[k] * y;
  }
  return out;
}

torch::Tensor EntangledLinear::Fixed(const torch::Tensor& x, int choice) const {
  const auto [weight, bias] = Candidate(choice);
  return torch::linear(x, weight, bias);
}

std::vector<torch::Tensor> EntangledLinear::Extract(int choice) const {
  const auto [weight, bias] = Candidate(choice);
  if (!bias.defined()) return {weight.detach().clone()};
  return {weight.detach().clone(), bias.detach().clone()};
}

}  // namespace pipebench
