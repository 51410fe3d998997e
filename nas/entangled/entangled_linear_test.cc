#include "nas/entangled/entangled_linear.h"

#include "nas/entangled/superposition.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

// The definition, one padded copy per choice: what the O(|W|) path must equal.
torch::Tensor ExplicitSum(const torch::Tensor& full, const std::vector<LinearShape>& choices,
                          const torch::Tensor& w) {
  torch::Tensor sum = torch::zeros_like(full);
  for (size_t k = 0; k < choices.size(); ++k) {
    torch::Tensor padded = torch::zeros_like(full);
    padded.narrow(0, 0, choices[k].out).narrow(1, 0, choices[k].in)
        .copy_(full.narrow(0, 0, choices[k].out).narrow(1, 0, choices[k].in));
    sum += w[k] * padded;
  }
  return sum;
}

const std::vector<LinearShape> kChoices = {{6, 4}, {12, 8}, {18, 12}, {9, 12}};

TEST(SuperpositionTest, CoefficientsMatchTheSumOfMasks) {
  const torch::Tensor w = torch::softmax(torch::randn({4}), 0);
  const torch::Tensor c = PrefixCoefficients2D({6, 12, 18, 9}, {4, 8, 12, 12}, w, 18, 12);
  const torch::Tensor expected = ExplicitSum(torch::ones({18, 12}), kChoices, w);
  EXPECT_TRUE(torch::allclose(c, expected, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(PrefixCoefficients({2, 5}, torch::tensor({0.25f, 0.75f}), 6),
                              torch::tensor({1.0f, 1.0f, 0.75f, 0.75f, 0.75f, 0.0f})));
}

TEST(EntangledLinearTest, SuperposedWeightEqualsTheExplicitSumOfPaddedSlices) {
  auto layer = EntangledLinear::Create(kChoices, 0.5, 1);
  ASSERT_TRUE(layer.ok());
  const torch::Tensor w = torch::softmax(torch::randn({4}), 0);
  const std::vector<torch::Tensor> mixed = layer->Superposed(w);
  EXPECT_TRUE(torch::allclose(mixed[0], ExplicitSum(layer->parameters()[0].detach(), kChoices, w),
                              1e-6, 1e-7));
}

TEST(EntangledLinearTest, OneHotMixingEqualsTheFixedChoiceAndTheExtractedLayer) {
  auto layer = EntangledLinear::Create(kChoices, 0.5, 2);
  ASSERT_TRUE(layer.ok());
  for (int k = 0; k < 4; ++k) {
    const LinearShape s = kChoices[k];
    torch::Tensor x = torch::zeros({3, 12});
    x.narrow(1, 0, s.in).copy_(torch::randn({3, s.in}));
    const torch::Tensor mixed = layer->Mixed(x, torch::one_hot(torch::tensor(k), 4).to(torch::kFloat));
    const torch::Tensor fixed = layer->Fixed(x.narrow(1, 0, s.in), k);
    const std::vector<torch::Tensor> extracted = layer->Extract(k);
    const torch::Tensor standalone = torch::linear(x.narrow(1, 0, s.in), extracted[0], extracted[1]);
    EXPECT_TRUE(torch::allclose(mixed.narrow(1, 0, s.out), fixed, 1e-6, 1e-6)) << k;
    EXPECT_TRUE(torch::equal(fixed, standalone)) << k;
    EXPECT_EQ(mixed.narrow(1, s.out, 18 - s.out).abs().sum().item<float>(), 0.0f) << k;
  }
}

TEST(EntangledLinearTest, GradientsReachTheArchitectureParameters) {
  auto layer = EntangledLinear::Create(kChoices, 0.5, 3);
  ASSERT_TRUE(layer.ok());
  torch::Tensor alpha = (1e-3 * torch::randn({4})).set_requires_grad(true);
  const torch::Tensor loss = layer->Mixed(torch::randn({5, 12}), torch::softmax(alpha, 0)).pow(2).sum();
  loss.backward();
  ASSERT_TRUE(alpha.grad().defined());
  EXPECT_GT(alpha.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_GT(layer->parameters()[0].grad().abs().sum().item<float>(), 0.0f);
}

TEST(EntangledLinearTest, RejectsEmptyOrDegenerateChoices) {
  EXPECT_FALSE(EntangledLinear::Create({}, 0.1, 0).ok());
  EXPECT_NE(EntangledLinear::Create({{0, 4}}, 0.1, 0).status().message().find("at least 1x1"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
