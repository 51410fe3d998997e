#include "nas/entangled/supernet.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

SearchSpace TinySpace() {
  auto space = ParseSearchSpace(
      R"({"embed": [8, 12], "heads": [2, 4], "mlp_ratio": [2, 3], "layers": [1, 2], "context": 6})",
      10);
  EXPECT_TRUE(space.ok()) << space.status();
  return *space;
}

class SupernetStorageTest : public ::testing::TestWithParam<WeightStorage> {};

TEST_P(SupernetStorageTest, OneHotMixingEqualsEveryFixedArchitecture) {
  const SearchSpace space = TinySpace();
  auto supernet = EntangledGpt::Create(space, 1, {GetParam()});
  ASSERT_TRUE(supernet.ok()) << supernet.status();
  {
    torch::NoGradGuard no_grad;  // non-trivial norms and biases, so every slice matters
    for (const torch::Tensor& p : supernet->parameters()) {
      if (p.dim() == 1) p.add_(0.1 * torch::randn_like(p));
    }
  }
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  int checked = 0;
  for (int e = 0; e < 2; ++e) {
    for (int d = 0; d < 2; ++d) {
      for (int h0 = 0; h0 < 2; ++h0) {
        for (int r1 = 0; r1 < 2; ++r1) {
          const Architecture arch{e, d, {h0, 1 - h0}, {1 - r1, r1}};
          const torch::Tensor fixed = supernet->Fixed(tokens, arch);
          const torch::Tensor mixed = supernet->Mixed(tokens, OneHot(space, arch));
          EXPECT_TRUE(torch::allclose(mixed, fixed, 1e-5, 1e-6))
              << "embed " << e << " depth " << d << " max diff "
              << (mixed - fixed).abs().max().item<float>();
          // The engine's GPT with the inherited weights computes what the supernet does.
          const GptNetwork derived = supernet->Extract(arch);
          EXPECT_TRUE(torch::allclose(derived.Forward(tokens), fixed, 1e-5, 1e-6))
              << "extracted embed " << e << " depth " << d;
          EXPECT_EQ(derived.ParameterCount(), DerivedParameterCount(space, arch));
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 16);
}

INSTANTIATE_TEST_SUITE_P(BothStorages, SupernetStorageTest,
                         ::testing::Values(WeightStorage::kEntangled, WeightStorage::kSeparate));

TEST(SupernetTest, EntangledStoresAFractionOfTheWeightSharingParameters) {
  const SearchSpace space = TinySpace();
  auto entangled = EntangledGpt::Create(space, 0, {WeightStorage::kEntangled});
  auto separate = EntangledGpt::Create(space, 0, {WeightStorage::kSeparate});
  ASSERT_TRUE(entangled.ok() && separate.ok());
  EXPECT_LT(2 * entangled->ParameterCount(), separate->ParameterCount());
}

TEST(SupernetTest, GradientsReachEveryArchitectureDecision) {
  const SearchSpace space = TinySpace();
  auto supernet = EntangledGpt::Create(space, 2);
  ASSERT_TRUE(supernet.ok());
  torch::Tensor embed = torch::zeros({2}).set_requires_grad(true);
  torch::Tensor layers = torch::zeros({2}).set_requires_grad(true);
  torch::Tensor heads = torch::zeros({2, 2}).set_requires_grad(true);
  torch::Tensor ratios = torch::zeros({2, 2}).set_requires_grad(true);
  const MixingWeights w{torch::softmax(embed, 0), torch::softmax(layers, 0),
                        torch::softmax(heads, -1), torch::softmax(ratios, -1)};
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  torch::cross_entropy_loss(supernet->Mixed(tokens, w).reshape({-1, 10}), tokens.reshape({-1}))
      .backward();
  for (const torch::Tensor& alpha : {embed, layers, heads, ratios}) {
    EXPECT_GT(alpha.grad().abs().sum().item<float>(), 0.0f);
  }
}

TEST(SupernetTest, ThePaperSpaceBuildsWithEveryLayerAndChoice) {
  std::ifstream in("configs/nas/char_gpt.json");
  ASSERT_TRUE(in) << "configs/nas/char_gpt.json not in runfiles";
  std::stringstream text;
  text << in.rdbuf();
  auto space = ParseSearchSpace(text.str(), 65);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->max_layers(), 6);
  auto supernet = EntangledGpt::Create(*space, 0);
  ASSERT_TRUE(supernet.ok());
  // Embeddings 65x384 + 256x384, six layers of attention (4x384^2 + 4x384), MLP in/out
  // (1536x384 + 1536, 384x1536 + 384), two norms (4x384); final norm; head 65x384 (no bias).
  const std::int64_t layer = 4 * 384 * 384 + 4 * 384 + 1536 * 384 + 1536 + 384 * 1536 + 384 + 4 * 384;
  EXPECT_EQ(supernet->ParameterCount(), 65 * 384 + 256 * 384 + 6 * layer + 2 * 384 + 65 * 384);
  // The largest architecture extracts every parameter.
  const Architecture largest{2, 2, std::vector<int>(6, 2), std::vector<int>(6, 2)};
  EXPECT_EQ(DerivedParameterCount(*space, largest), supernet->ParameterCount());
}

TEST(SupernetTest, SearchSpaceErrorsNameTheProblem) {
  EXPECT_NE(ParseSearchSpace(R"({"embed": [8], "heads": [3], "mlp_ratio": [2], "layers": [1]})", 10)
                .status()
                .message()
                .find("not divisible"),
            std::string::npos);
  EXPECT_NE(ParseSearchSpace(R"({"embed": [8], "heads": [2], "mlp_ratio": [2], "layers": [1],
                                 "depth": 3})", 10)
                .status()
                .message()
                .find("unknown search-space key 'depth'"),
            std::string::npos);
  EXPECT_NE(ParseSearchSpace(R"({"embed": [], "heads": [2], "mlp_ratio": [2], "layers": [1]})", 10)
                .status()
                .message()
                .find("'embed' has no choices"),
            std::string::npos);
}

class TiedStorageTest : public ::testing::TestWithParam<WeightStorage> {};

TEST_P(TiedStorageTest, TiedHeadSharesTheTokenTableInSupernetAndExtractedNetwork) {
  const SearchSpace space = TinySpace();
  SupernetOptions tied;
  tied.storage = GetParam();
  tied.tied_embeddings = true;
  auto supernet = EntangledGpt::Create(space, 3, tied);
  auto untied = EntangledGpt::Create(space, 3, {GetParam()});
  ASSERT_TRUE(supernet.ok() && untied.ok());
  // The head's weights (10 x 12, or 10 x 8 + 10 x 12 stored separately) are not parameters.
  const std::int64_t head_weights = GetParam() == WeightStorage::kEntangled ? 120 : 200;
  EXPECT_EQ(supernet->ParameterCount(), untied->ParameterCount() - head_weights);
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  const Architecture arch{0, 1, {1, 0}, {0, 1}};
  const GptNetwork derived = supernet->Extract(arch);
  EXPECT_EQ(derived.ParameterCount(), DerivedParameterCount(space, arch, true));
  EXPECT_TRUE(derived.config.tied_embeddings);
  EXPECT_TRUE(torch::allclose(derived.Forward(tokens), supernet->Fixed(tokens, arch), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(supernet->Mixed(tokens, OneHot(space, arch)),
                              supernet->Fixed(tokens, arch), 1e-5, 1e-6));
  // One table: a gradient step on it moves both the embedding and the head.
  const GptNetwork copy = derived.Clone();
  EXPECT_EQ(copy.ParameterCount(), derived.ParameterCount());
  {
    torch::NoGradGuard no_grad;
    copy.weights[0].add_(1.0);  // the token table
  }
  EXPECT_FALSE(torch::allclose(copy.Forward(tokens), derived.Forward(tokens)));
  const GptNetwork untied_copy = untied->Extract(arch);
  {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& p : untied_copy.weights) p.zero_();
  }
  EXPECT_TRUE(torch::allclose(derived.Forward(tokens), supernet->Fixed(tokens, arch), 1e-5, 1e-6))
      << "a clone or another network shares tensors with the supernet's extraction";
}

INSTANTIATE_TEST_SUITE_P(BothStorages, TiedStorageTest,
                         ::testing::Values(WeightStorage::kEntangled, WeightStorage::kSeparate));

MixingWeights RandomMixing(const SearchSpace& space) {
  auto rows = [](std::int64_t r, std::int64_t n) { return torch::softmax(torch::randn({r, n}), -1); };
  const std::int64_t layers = space.max_layers();
  return {rows(1, space.embed.size())[0], rows(1, space.layers.size())[0],
          rows(layers, space.heads.size()), rows(layers, space.mlp_ratio.size())};
}

// A pipeline runs the supernet as a chain of units, each stage on its own copy of its units'
// parameters: chained over any cut, the units compute Mixed, and gradients reach the copies.
TEST_P(SupernetStorageTest, UnitsChainedOverAnyCutComputeMixedWithTheGivenParameters) {
  const SearchSpace space = TinySpace();
  auto supernet = EntangledGpt::Create(space, 2, {GetParam()});
  ASSERT_TRUE(supernet.ok()) << supernet.status();
  ASSERT_EQ(supernet->units(), 4);
  const MixingWeights w = RandomMixing(space);
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  const torch::Tensor whole = supernet->Mixed(tokens, w);
  for (const std::vector<int>& cuts : std::vector<std::vector<int>>{{0, 4}, {0, 2, 4}, {0, 1, 3, 4}}) {
    EntangledGpt::MixedState state{tokens, {}};
    std::vector<torch::Tensor> copies;
    for (size_t s = 0; s + 1 < cuts.size(); ++s) {
      std::vector<torch::Tensor> stage;
      for (int unit = cuts[s]; unit < cuts[s + 1]; ++unit) {
        for (const torch::Tensor& p : supernet->UnitParameters(unit)) {
          stage.push_back(p.detach().clone().requires_grad_(true));
        }
      }
      state = supernet->MixedUnits(cuts[s], cuts[s + 1], &stage, state, w, 0.0);
      copies.insert(copies.end(), stage.begin(), stage.end());
    }
    EXPECT_TRUE(torch::allclose(state.x, whole, 1e-5, 1e-6)) << cuts.size() - 1 << " stages";
    EXPECT_EQ(copies.size(), supernet->parameters().size());
    state.x.pow(2).mean().backward();
    int reached = 0;
    for (const torch::Tensor& c : copies) reached += c.grad().defined() ? 1 : 0;
    EXPECT_GT(reached, 0);
    for (const torch::Tensor& p : supernet->parameters()) EXPECT_FALSE(p.grad().defined());
  }
  std::vector<torch::Tensor> too_few = supernet->UnitParameters(0);
  too_few.pop_back();
  EXPECT_THROW(supernet->MixedUnits(0, 1, &too_few, {tokens, {}}, w, 0.0), c10::Error);
}

TEST(SupernetTest, DropoutActsOnlyInTraining) {
  const SearchSpace space = TinySpace();
  SupernetOptions options;
  options.dropout = 0.3;
  auto supernet = EntangledGpt::Create(space, 4, options);
  auto plain = EntangledGpt::Create(space, 4);
  ASSERT_TRUE(supernet.ok() && plain.ok());
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  const Architecture arch{1, 1, {0, 1}, {1, 0}};
  const MixingWeights w = OneHot(space, arch);
  EXPECT_TRUE(torch::equal(supernet->Mixed(tokens, w), plain->Mixed(tokens, w)));
  EXPECT_FALSE(torch::allclose(supernet->Mixed(tokens, w, /*training=*/true),
                               supernet->Mixed(tokens, w)));
  const GptNetwork derived = supernet->Extract(arch);
  EXPECT_TRUE(torch::allclose(derived.Forward(tokens), supernet->Fixed(tokens, arch), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(derived.Forward(tokens, /*dropout_seed=*/1), derived.Forward(tokens)));
  options.dropout = 1.0;
  EXPECT_FALSE(EntangledGpt::Create(space, 4, options).ok());
}

}  // namespace
}  // namespace pipebench
