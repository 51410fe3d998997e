#include "nas/samplers/architecture_sampler.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(SparsemaxTest, MatchesHandComputedProjections) {
  // z = [1, 0.5, -1]: support {1, 0.5}, threshold 0.25 -> [0.75, 0.25, 0].
  EXPECT_TRUE(torch::allclose(Sparsemax(torch::tensor({1.0f, 0.5f, -1.0f})),
                              torch::tensor({0.75f, 0.25f, 0.0f})));
  // Equal logits give the uniform distribution; a dominant one gives one-hot.
  EXPECT_TRUE(torch::allclose(Sparsemax(torch::zeros({4})), torch::full({4}, 0.25f)));
  EXPECT_TRUE(torch::allclose(Sparsemax(torch::tensor({5.0f, 0.0f, 0.0f})),
                              torch::tensor({1.0f, 0.0f, 0.0f})));
}

TEST(ArchitectureSamplerTest, EveryOptimizerGivesRowsThatSumToOne) {
  const torch::Tensor alpha = 1e-1 * torch::randn({5, 3});
  for (const char* name : {"darts", "darts_sparsemax", "drnas", "gdas", "spos"}) {
    auto kind = ParseSamplerKind(name);
    ASSERT_TRUE(kind.ok());
    ArchitectureSampler sampler(*kind, 7);
    const torch::Tensor w = sampler.Sample(alpha, 1.0);
    EXPECT_EQ(w.sizes(), alpha.sizes()) << name;
    EXPECT_TRUE(torch::allclose(w.sum(-1), torch::ones({5}), 1e-5, 1e-6)) << name;
    EXPECT_GE(w.min().item<float>(), 0.0f) << name;
  }
}

TEST(ArchitectureSamplerTest, GradientsReachAlphaExceptForSpos) {
  for (const char* name : {"darts", "darts_sparsemax", "drnas", "gdas"}) {
    torch::Tensor alpha = (0.1 * torch::randn({2, 3})).set_requires_grad(true);
    ArchitectureSampler sampler(*ParseSamplerKind(name), 3);
    const torch::Tensor w = sampler.Sample(alpha, 1.0);
    (w * torch::tensor({{1.0f, 2.0f, 3.0f}, {3.0f, 1.0f, 2.0f}})).sum().backward();
    ASSERT_TRUE(alpha.grad().defined()) << name;
    EXPECT_GT(alpha.grad().abs().sum().item<float>(), 0.0f) << name;
  }
  torch::Tensor alpha = torch::zeros({3}).set_requires_grad(true);
  EXPECT_FALSE(ArchitectureSampler(SamplerKind::kSpos, 1).Sample(alpha).requires_grad());
}

TEST(ArchitectureSamplerTest, HardSamplersAreOneHotAndSeeded) {
  const torch::Tensor alpha = torch::zeros({4, 6});
  for (SamplerKind kind : {SamplerKind::kGdas, SamplerKind::kSpos}) {
    ArchitectureSampler a(kind, 11);
    ArchitectureSampler b(kind, 11);
    const torch::Tensor wa = a.Sample(alpha, 0.5);
    EXPECT_TRUE(torch::equal(wa.detach(), b.Sample(alpha, 0.5).detach()));
    EXPECT_TRUE(torch::equal((wa.detach() == 1).sum(-1), torch::ones({4}, torch::kLong)));
  }
}

TEST(ArchitectureSamplerTest, GdasTemperatureAnnealsLinearly) {
  EXPECT_DOUBLE_EQ(GdasTemperature(0, 11), 10.0);
  EXPECT_NEAR(GdasTemperature(5, 11), 5.05, 1e-12);
  EXPECT_NEAR(GdasTemperature(10, 11), 0.1, 1e-12);
}

TEST(ArchitectureSamplerTest, UnknownOptimizerListsTheKnownOnes) {
  auto kind = ParseSamplerKind("enas");
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("drnas"), std::string::npos);
}

}  // namespace
}  // namespace pipebench
