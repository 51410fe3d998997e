#include "nas/entangled/entangled_linear.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nas/entangled/superposition.h"

namespace pipebench {

absl::StatusOr<EntangledLinear> EntangledLinear::Create(std::vector<LinearShape> choices,
                                                        double std, std::uint64_t seed) {
  if (choices.empty()) return absl::InvalidArgumentError("an entangled layer needs choices");
  std::int64_t max_out = 0;
  std::int64_t max_in = 0;
  for (const LinearShape& s : choices) {
    if (s.out < 1 || s.in < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("choice shape ", s.out, "x", s.in, " must be at least 1x1"));
    }
    max_out = std::max(max_out, s.out);
    max_in = std::max(max_in, s.in);
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor weight = at::normal(0.0, std, {max_out, max_in}, gen).set_requires_grad(true);
  torch::Tensor bias = torch::zeros({max_out}).set_requires_grad(true);
  return EntangledLinear(std::move(choices), std::move(weight), std::move(bias));
}

std::vector<torch::Tensor> EntangledLinear::Superposed(const torch::Tensor& choice_weights) const {
  std::vector<std::int64_t> outs;
  std::vector<std::int64_t> ins;
  for (const LinearShape& s : choices_) {
    outs.push_back(s.out);
    ins.push_back(s.in);
  }
  const torch::Tensor w = choice_weights.to(weight_.dtype());
  return {weight_ * PrefixCoefficients2D(outs, ins, w, weight_.size(0), weight_.size(1)),
          bias_ * PrefixCoefficients(outs, w, bias_.size(0))};
}

torch::Tensor EntangledLinear::Mixed(const torch::Tensor& x,
                                     const torch::Tensor& choice_weights) const {
  const std::vector<torch::Tensor> mixed = Superposed(choice_weights);
  return torch::linear(x, mixed[0], mixed[1]);
}

torch::Tensor EntangledLinear::Fixed(const torch::Tensor& x, int choice) const {
  const LinearShape& s = choices_.at(choice);
  return torch::linear(x, weight_.narrow(0, 0, s.out).narrow(1, 0, s.in), bias_.narrow(0, 0, s.out));
}

std::vector<torch::Tensor> EntangledLinear::Extract(int choice) const {
  const LinearShape& s = choices_.at(choice);
  return {weight_.detach().narrow(0, 0, s.out).narrow(1, 0, s.in).clone(),
          bias_.detach().narrow(0, 0, s.out).clone()};
}

}  // namespace pipebench
