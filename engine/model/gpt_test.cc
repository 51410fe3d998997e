#include "engine/model/gpt.h"

#include "engine/model/partition.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

GptConfig Tiny() {
  GptConfig config;
  config.vocab_size = 11;
  config.layers = 4;
  config.embed = 16;
  config.heads = 2;
  config.context = 8;
  return config;
}

TEST(GptTest, ShapesAndParameterCount) {
  const GptConfig config = Tiny();
  const UnitRange all{0, config.units()};
  const auto weights = InitWeights(config, all, 1);
  const torch::Tensor tokens = torch::randint(0, 11, {3, 8}, torch::kInt64);
  EXPECT_EQ(ForwardUnits(config, all, weights, tokens).sizes(), (std::vector<int64_t>{3, 8, 11}));
  // Embeddings 11*16 + 8*16, four blocks of 12*16^2 + 13*16, final norm 2*16, head 11*16.
  EXPECT_EQ(ParameterCount(weights), 176 + 128 + 4 * (12 * 256 + 13 * 16) + 32 + 176);
}

TEST(GptTest, StagedForwardEqualsWholeModelWhateverThePartition) {
  const GptConfig config = Tiny();
  const torch::Tensor tokens = torch::randint(0, 11, {2, 8}, torch::kInt64);
  const UnitRange all{0, config.units()};
  const torch::Tensor whole = ForwardUnits(config, all, InitWeights(config, all, 7), tokens);
  for (int stages : {2, 3, 4}) {
    auto ranges = PartitionByLayers(config, stages);
    ASSERT_TRUE(ranges.ok());
    torch::Tensor x = tokens;
    for (const UnitRange& range : *ranges) {
      x = ForwardUnits(config, range, InitWeights(config, range, 7), x);
    }
    EXPECT_TRUE(torch::equal(x, whole)) << stages << " stages";
  }
}

TEST(GptTest, AttentionIsCausal) {
  const GptConfig config = Tiny();
  const UnitRange all{0, config.units()};
  const auto weights = InitWeights(config, all, 3);
  torch::Tensor tokens = torch::randint(0, 11, {1, 8}, torch::kInt64);
  const torch::Tensor before = ForwardUnits(config, all, weights, tokens);
  tokens[0][7] = (tokens[0][7].item<int64_t>() + 1) % 11;  // change only the last token
  const torch::Tensor after = ForwardUnits(config, all, weights, tokens);
  EXPECT_TRUE(torch::allclose(before.narrow(1, 0, 7), after.narrow(1, 0, 7)));
  EXPECT_FALSE(torch::allclose(before.narrow(1, 7, 1), after.narrow(1, 7, 1)));
}

TEST(GptTest, InitialLossIsNearUniform) {
  const GptConfig config = Tiny();
  const UnitRange all{0, config.units()};
  const torch::Tensor tokens = torch::randint(0, 11, {4, 8}, torch::kInt64);
  const torch::Tensor loss =
      LanguageModelLoss(ForwardUnits(config, all, InitWeights(config, all, 5), tokens), tokens);
  EXPECT_NEAR(loss.item<double>(), std::log(11.0), 0.1);
}

TEST(GptTest, ValidateNamesTheField) {
  GptConfig config = Tiny();
  config.heads = 3;
  EXPECT_NE(config.Validate().message().find("divisible by heads"), std::string::npos);
  config = Tiny();
  config.layers = 0;
  EXPECT_NE(config.Validate().message().find("layers must be >= 1"), std::string::npos);
}

TEST(GptTest, ParsesShapeStringsAndNamesBadKeysAndValues) {
  auto config = ParseGptConfig("layers=2,embed=32,heads=4", 11);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->layers, 2);
  EXPECT_EQ(config->embed, 32);
  EXPECT_EQ(config->mlp_ratio, 4);  // default kept
  EXPECT_EQ(config->vocab_size, 11);
  EXPECT_NE(ParseGptConfig("depth=3", 11).status().message().find("unknown key 'depth'"),
            std::string::npos);
  EXPECT_NE(ParseGptConfig("layers=two", 11).status().message().find("key=value"),
            std::string::npos);
  EXPECT_NE(ParseGptConfig("embed=10,heads=4", 11).status().message().find("divisible by heads"),
            std::string::npos);
}

TEST(GptTest, DecayMaskSkipsBiasesAndNorms) {
  const GptConfig config = Tiny();
  const std::vector<bool> mask = WeightDecayMask(config, {1, 2});  // one block
  EXPECT_EQ(mask, (std::vector<bool>{false, false, true, false, true, false, false, false, true,
                                     false, true, false}));
}

// Dropout draws its masks from (seed, unit): training forwards are reproducible and the same
// however the model is cut into stages; forwards without a seed (evaluation) drop nothing.
TEST(GptTest, DropoutMasksDependOnTheSeedAndUnitNotThePartition) {
  auto config = ParseGptConfig("layers=3,embed=16,heads=2,mlp_ratio=2,context=8,dropout=0.2", 11);
  ASSERT_TRUE(config.ok()) << config.status();
  const UnitRange all{0, config->units()};
  const std::vector<torch::Tensor> weights = InitWeights(*config, all, 5);
  const torch::Tensor tokens = torch::randint(0, 11, {2, 8}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const torch::Tensor a = ForwardUnits(*config, all, weights, tokens, 42);
  EXPECT_TRUE(torch::equal(a, ForwardUnits(*config, all, weights, tokens, 42)));
  EXPECT_FALSE(torch::equal(a, ForwardUnits(*config, all, weights, tokens, 43)));
  // Evaluation: no seed, no dropout; the same as a dropout-free model.
  GptConfig plain = *config;
  plain.dropout = 0;
  EXPECT_TRUE(torch::equal(ForwardUnits(*config, all, weights, tokens),
                           ForwardUnits(plain, all, weights, tokens, 42)));
  // Two stages, [0, 2) and [2, 5), with the same seed: the same output as one.
  const UnitRange first{0, 2}, second{2, config->units()};
  const size_t cut = InitWeights(*config, first, 5).size();
  const std::vector<torch::Tensor> w1(weights.begin(), weights.begin() + cut);
  const std::vector<torch::Tensor> w2(weights.begin() + cut, weights.end());
  const torch::Tensor split = ForwardUnits(
      *config, second, w2, ForwardUnits(*config, first, w1, tokens, 42), 42);
  EXPECT_TRUE(torch::allclose(a, split));
  EXPECT_FALSE(ParseGptConfig("layers=2,dropout=1", 11).ok());
  EXPECT_FALSE(ParseGptConfig("layers=2,dropout=-0.1", 11).ok());
}

}  // namespace
}  // namespace pipebench
