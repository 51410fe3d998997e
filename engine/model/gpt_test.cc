#include "engine/model/gpt.h"

#include <cstdlib>
#include <fstream>

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
    auto ranges = PartitionByLayers(GptModel(config), stages);
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

// A derived architecture: per-block head counts and MLP ratios, each block sized by its own.
TEST(GptTest, PerBlockHeadsAndMlpRatios) {
  GptConfig config = Tiny();
  config.layers = 2;
  config.block_heads = {1, 4};
  config.block_mlp_ratio = {2, 3};
  ASSERT_TRUE(config.Validate().ok()) << config.Validate();
  const GptNetwork network = InitNetwork(config, 1);
  // Blocks: 4*16^2 + 2*16*(16r) + 16r + 9*16 for r = 2 and 3.
  auto block = [](int r) { return 4 * 256 + 2 * 16 * 16 * r + 16 * r + 9 * 16; };
  EXPECT_EQ(network.ParameterCount(), 176 + 128 + block(2) + block(3) + 32 + 176);
  const torch::Tensor tokens = torch::randint(0, 11, {2, 8}, torch::kInt64);
  EXPECT_EQ(network.Forward(tokens).sizes(), (std::vector<int64_t>{2, 8, 11}));
  // The head count changes the function, not the weights' shapes.
  GptConfig other_heads = config;
  other_heads.block_heads = {2, 4};
  EXPECT_FALSE(torch::allclose(network.Forward(tokens),
                               GptNetwork{other_heads, network.weights}.Forward(tokens)));

  config.block_heads = {1, 3};
  EXPECT_NE(config.Validate().message().find("divisible by heads (3) of block 1"),
            std::string::npos);
  config.block_heads = {1};
  EXPECT_NE(config.Validate().message().find("heads lists 1 blocks, the model has 2"),
            std::string::npos);
}

// A tied head is the token table: no weight of its own, and its gradient reaches the table.
TEST(GptTest, TiedHeadReadsTheTokenTable) {
  GptConfig config = Tiny();
  const GptNetwork untied = InitNetwork(config, 2);
  config.tied_embeddings = true;
  const GptNetwork tied = InitNetwork(config, 2);
  EXPECT_EQ(tied.ParameterCount(), untied.ParameterCount() - 11 * 16);
  const torch::Tensor tokens = torch::randint(0, 11, {2, 8}, torch::kInt64);
  const torch::Tensor logits = tied.Forward(tokens);
  // Zeroing the table changes logits of every position through the head as well.
  GptNetwork zeroed = tied.Clone();
  {
    torch::NoGradGuard no_grad;
    zeroed.weights[0].zero_();
  }
  EXPECT_TRUE(torch::allclose(zeroed.Forward(tokens), torch::zeros_like(logits), 0, 1e-6));
  EXPECT_FALSE(PartitionByLayers(GptModel(config), 2).ok());
  EXPECT_NE(PartitionByLayers(GptModel(config), 2).status().message().find("tied_embeddings"),
            std::string::npos);
  EXPECT_TRUE(PartitionByLayers(GptModel(config), 1).ok());
}

TEST(GptTest, ModelFilesRoundTripAndNameTheirErrors) {
  GptConfig config = Tiny();
  config.layers = 3;
  config.block_heads = {2, 4, 1};
  config.block_mlp_ratio = {1, 4, 2};
  config.dropout = 0.2;
  config.tied_embeddings = true;
  const std::string text = GptConfigToJson(config, "a derived architecture");
  auto back = ParseGptConfigJson(text, 11, "test");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(GptConfigToJson(*back, "a derived architecture"), text);
  EXPECT_EQ(back->Describe(), config.Describe());

  // The same through --model, from a file.
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/derived.json";
  std::ofstream(path) << text;
  auto from_flag = ParseGptConfig(path, 11);
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->block_mlp_ratio, config.block_mlp_ratio);
  EXPECT_EQ(ParseGptConfig(path + ".missing.json", 11).status().code(),
            absl::StatusCode::kNotFound);

  auto message = [](const std::string& json) {
    return std::string(ParseGptConfigJson(json, 11, "m.json").status().message());
  };
  EXPECT_EQ(message(R"({"layers": 2})"), "m.json: embed: missing");
  EXPECT_EQ(message(R"({"layers": 2, "embed": 16, "heads": [2]})"),
            "m.json: heads: expected one entry per layer (2), got 1");
  EXPECT_EQ(message(R"({"layers": 2, "embed": 16, "heads": [2, "x"]})"),
            "m.json: heads[1]: expected an integer, got \"x\"");
  EXPECT_EQ(message(R"({"layers": 2, "embed": 16, "tied_embeddings": 1})"),
            "m.json: tied_embeddings: expected true or false, got 1");
  EXPECT_NE(message(R"({"layers": 2, "embed": 16, "depth": 1})").find("depth: unknown key"),
            std::string::npos);
  EXPECT_EQ(message(R"({"layers": 2, "embed": 10, "heads": 4})"),
            "m.json: model embed (10) must be divisible by heads (4)");
}

}  // namespace
}  // namespace pipebench
