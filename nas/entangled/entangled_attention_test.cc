#include "nas/entangled/entangled_attention.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

torch::Tensor OneHot(int k, int n) { return torch::one_hot(torch::tensor(k), n).to(torch::kFloat); }

const std::vector<std::int64_t> kWidths = {12, 24};
const std::vector<std::int64_t> kHeads = {2, 3, 6};

TEST(EntangledAttentionTest, OneHotEqualsTheFixedChoiceAndTheExtractedModule) {
  auto attention = EntangledAttention::Create(kWidths, kHeads, 0.3, 1);
  ASSERT_TRUE(attention.ok());
  {
    torch::NoGradGuard no_grad;  // non-zero biases, so slicing mistakes in them would show
    for (const torch::Tensor& w : attention->parameters()) {
      if (w.dim() == 1) w.copy_(torch::randn_like(w));
    }
  }
  const torch::Tensor x = torch::randn({2, 5, 24});
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      const std::int64_t e = kWidths[i];
      const torch::Tensor mixed = attention->Mixed(x, OneHot(i, 2), OneHot(j, 3));
      const torch::Tensor fixed = attention->Fixed(x.narrow(-1, 0, e), i, j);
      const torch::Tensor standalone =
          CausalSelfAttention(x.narrow(-1, 0, e), attention->Extract(i), kHeads[j]);
      EXPECT_TRUE(torch::allclose(mixed.narrow(-1, 0, e), fixed, 1e-6, 1e-6)) << i << "," << j;
      EXPECT_TRUE(torch::equal(fixed, standalone)) << i << "," << j;
      if (e < 24) {
        EXPECT_EQ(mixed.narrow(-1, e, 24 - e).abs().sum().item<float>(), 0.0f);
      }
    }
  }
}

TEST(EntangledAttentionTest, HeadCountChangesTheFunctionAndAttentionIsCausal) {
  auto attention = EntangledAttention::Create(kWidths, kHeads, 0.3, 2);
  ASSERT_TRUE(attention.ok());
  torch::Tensor x = torch::randn({1, 6, 24});
  EXPECT_FALSE(torch::allclose(attention->Fixed(x, 1, 0), attention->Fixed(x, 1, 2)));
  const torch::Tensor before = attention->Fixed(x, 1, 1);
  x[0][5] += 1.0;  // only the last position changes
  const torch::Tensor after = attention->Fixed(x, 1, 1);
  EXPECT_TRUE(torch::allclose(before.narrow(1, 0, 5), after.narrow(1, 0, 5)));
}

TEST(EntangledAttentionTest, GradientsReachBothArchitectureParameters) {
  auto attention = EntangledAttention::Create(kWidths, kHeads, 0.3, 3);
  ASSERT_TRUE(attention.ok());
  torch::Tensor alpha_width = torch::zeros({2}).set_requires_grad(true);
  torch::Tensor alpha_heads = torch::zeros({3}).set_requires_grad(true);
  attention->Mixed(torch::randn({2, 4, 24}), torch::softmax(alpha_width, 0),
                   torch::softmax(alpha_heads, 0))
      .pow(2)
      .sum()
      .backward();
  EXPECT_GT(alpha_width.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_GT(alpha_heads.grad().abs().sum().item<float>(), 0.0f);
}

TEST(EntangledAttentionTest, IndivisibleWidthIsAClearError) {
  auto attention = EntangledAttention::Create({10}, {3}, 0.1, 0);
  ASSERT_FALSE(attention.ok());
  EXPECT_NE(attention.status().message().find("10 is not divisible by 3"), std::string::npos);
}

}  // namespace
}  // namespace pipebench
