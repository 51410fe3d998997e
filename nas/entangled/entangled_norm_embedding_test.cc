#include "nas/entangled/entangled_norm_embedding.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

torch::Tensor OneHot(int k, int n) { return torch::one_hot(torch::tensor(k), n).to(torch::kFloat); }

TEST(EntangledEmbeddingTest, OneHotEqualsFixedAndExtractedAndMixingIsTheWeightedSum) {
  auto embedding = EntangledEmbedding::Create(10, {4, 8, 16}, 0.5, 1);
  ASSERT_TRUE(embedding.ok());
  const torch::Tensor ids = torch::randint(0, 10, {3, 5}, torch::kInt64);
  for (int k = 0; k < 3; ++k) {
    const int64_t width = std::vector<int64_t>{4, 8, 16}[k];
    const torch::Tensor mixed = embedding->Mixed(ids, OneHot(k, 3));
    const torch::Tensor fixed = embedding->Fixed(ids, k);
    EXPECT_TRUE(torch::equal(mixed.narrow(-1, 0, width), fixed)) << k;
    EXPECT_TRUE(torch::equal(fixed, torch::embedding(embedding->Extract(k), ids))) << k;
    EXPECT_EQ(mixed.narrow(-1, width, 16 - width).abs().sum().item<float>(), 0.0f) << k;
  }
  const torch::Tensor w = torch::tensor({0.2f, 0.3f, 0.5f});
  torch::Tensor expected = torch::zeros({3, 5, 16});
  for (int k = 0; k < 3; ++k) {
    expected += w[k] * torch::constant_pad_nd(embedding->Fixed(ids, k),
                                              {0, 16 - std::vector<int64_t>{4, 8, 16}[k]});
  }
  EXPECT_TRUE(torch::allclose(embedding->Mixed(ids, w), expected, 1e-6, 1e-7));
}

TEST(EntangledLayerNormTest, EachChoiceNormalisesOverItsOwnWidth) {
  auto norm = EntangledLayerNorm::Create({4, 8});
  ASSERT_TRUE(norm.ok());
  {
    torch::NoGradGuard no_grad;
    norm->parameters()[0].copy_(torch::rand({8}) + 0.5);
    norm->parameters()[1].copy_(torch::randn({8}));
  }
  const torch::Tensor x = torch::randn({2, 3, 8}) * 3 + 1;
  for (int k = 0; k < 2; ++k) {
    const int64_t width = k == 0 ? 4 : 8;
    const std::vector<torch::Tensor> extracted = norm->Extract(k);
    const torch::Tensor standalone =
        torch::layer_norm(x.narrow(-1, 0, width), {width}, extracted[0], extracted[1]);
    const torch::Tensor mixed = norm->Mixed(x, OneHot(k, 2));
    EXPECT_TRUE(torch::allclose(mixed.narrow(-1, 0, width), standalone, 1e-5, 1e-6)) << k;
    EXPECT_TRUE(torch::allclose(norm->Fixed(x.narrow(-1, 0, width), k), standalone)) << k;
  }
}

TEST(EntangledLayerNormTest, GradientsReachTheArchitectureParameters) {
  auto norm = EntangledLayerNorm::Create({4, 8});
  ASSERT_TRUE(norm.ok());
  torch::Tensor alpha = torch::zeros({2}).set_requires_grad(true);
  norm->Mixed(torch::randn({5, 8}), torch::softmax(alpha, 0)).pow(3).sum().backward();
  EXPECT_GT(alpha.grad().abs().sum().item<float>(), 0.0f);
}

TEST(EntangledEmbeddingTest, RejectsBadWidths) {
  EXPECT_FALSE(EntangledEmbedding::Create(4, {}, 0.1, 0).ok());
  EXPECT_FALSE(EntangledLayerNorm::Create({0}).ok());
}

}  // namespace
}  // namespace pipebench
