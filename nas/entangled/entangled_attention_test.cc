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

// The reference mode, written out the long way: padded per-width copies of every projection
// summed with the width weights, then for each head count an explicit loop over heads of
// max_width / h features (scale 1 / sqrt(max_width / h)), summed with the head weights, then the
// superposed output projection.
torch::Tensor ExplicitReference(const torch::Tensor& x, const std::vector<torch::Tensor>& w,
                                const torch::Tensor& a, const torch::Tensor& b) {
  const std::int64_t max_width = 24;
  std::vector<torch::Tensor> mixed;
  for (size_t p = 0; p < w.size(); ++p) {
    torch::Tensor sum = torch::zeros_like(w[p]);
    for (size_t i = 0; i < kWidths.size(); ++i) {
      const std::int64_t e = kWidths[i];
      torch::Tensor padded = torch::zeros_like(w[p]);
      if (w[p].dim() == 2) {
        padded.narrow(0, 0, e).narrow(1, 0, e).copy_(w[p].narrow(0, 0, e).narrow(1, 0, e));
      } else {
        padded.narrow(0, 0, e).copy_(w[p].narrow(0, 0, e));
      }
      sum = sum + a[i] * padded;
    }
    mixed.push_back(sum);
  }
  const torch::Tensor q = torch::linear(x, mixed[0], mixed[1]);
  const torch::Tensor k = torch::linear(x, mixed[2], mixed[3]);
  const torch::Tensor v = torch::linear(x, mixed[4], mixed[5]);
  const std::int64_t time = x.size(1);
  torch::Tensor attended = torch::zeros_like(q);
  for (size_t j = 0; j < kHeads.size(); ++j) {
    const std::int64_t d = max_width / kHeads[j];
    std::vector<torch::Tensor> heads;
    for (std::int64_t h = 0; h < kHeads[j]; ++h) {
      const torch::Tensor qh = q.narrow(-1, h * d, d);
      const torch::Tensor kh = k.narrow(-1, h * d, d);
      const torch::Tensor vh = v.narrow(-1, h * d, d);
      torch::Tensor scores = torch::matmul(qh, kh.transpose(1, 2)) / std::sqrt(double(d));
      for (std::int64_t r = 0; r < time; ++r) {
        for (std::int64_t c = r + 1; c < time; ++c) scores.select(1, r).select(1, c).fill_(-1e30);
      }
      heads.push_back(torch::matmul(torch::softmax(scores, -1), vh));
    }
    attended = attended + b[j] * torch::cat(heads, -1);
  }
  return torch::linear(attended, mixed[6], mixed[7]);
}

TEST(EntangledAttentionTest, ReferenceModeIsTheExplicitPaddedComputation) {
  auto attention = EntangledAttention::Create(kWidths, kHeads, 0.3, 4, WeightStorage::kEntangled,
                                              AttentionMode::kReference);
  ASSERT_TRUE(attention.ok()) << attention.status();
  {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& w : attention->parameters()) {
      if (w.dim() == 1) w.copy_(torch::randn_like(w));
    }
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 5, 24});
  const torch::Tensor a = torch::softmax(torch::randn({2}), 0);
  const torch::Tensor b = torch::softmax(torch::randn({3}), 0);
  const torch::Tensor expected = ExplicitReference(x, attention->parameters(), a, b);
  EXPECT_TRUE(torch::allclose(attention->Mixed(x, a, b), expected, 1e-5, 1e-5))
      << (attention->Mixed(x, a, b) - expected).abs().max().item<float>();
  // One-hot weights: at the largest width and the exact heads it is the extracted module; below
  // the largest width it is not (its heads straddle the padding).
  const torch::Tensor full = attention->Mixed(x, OneHot(1, 2), OneHot(1, 3));
  EXPECT_TRUE(torch::allclose(full, CausalSelfAttention(x, attention->Extract(1), 3), 1e-5, 1e-5));
  const torch::Tensor narrow = attention->Mixed(x, OneHot(0, 2), OneHot(1, 3));
  const torch::Tensor standalone = CausalSelfAttention(x.narrow(-1, 0, 12), attention->Extract(0), 3);
  EXPECT_GT((narrow.narrow(-1, 0, 12) - standalone).abs().max().item<float>(), 1e-3);
}

TEST(EntangledAttentionTest, ReferenceModeNeedsEntangledStorage) {
  auto attention = EntangledAttention::Create(kWidths, kHeads, 0.3, 4, WeightStorage::kSeparate,
                                              AttentionMode::kReference);
  ASSERT_FALSE(attention.ok());
  EXPECT_NE(attention.status().message().find("needs entangled storage"), std::string::npos);
  EXPECT_EQ(ParseAttentionMode("flash").status().message(),
            "unknown attention mode 'flash' (exact or reference)");
}

}  // namespace
}  // namespace pipebench
