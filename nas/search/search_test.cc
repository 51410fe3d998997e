#include "nas/search/search.h"

#include <set>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

SearchSpace Space(std::vector<std::int64_t> embed) {
  SearchSpace space;
  space.embed = std::move(embed);
  space.heads = {1, 2};
  space.mlp_ratio = {1, 2};
  space.layers = {1, 2};
  space.context = 8;
  space.vocab_size = 16;
  return space;
}

const TokenDataset& Data() {
  static const TokenDataset* data = new TokenDataset(TokenDataset::Synthetic(16, 40000, 3));
  return *data;
}

SearchOptions Options(const std::string& method, int steps, double weight_lr,
                      double arch_lr = 1e-2) {
  SearchOptions options;
  options.method = *ParseSearchMethod(method);
  options.steps = steps;
  options.preset.weights.config.learning_rate = weight_lr;
  options.preset.architecture.config.learning_rate = arch_lr;
  return options;
}

TEST(SearchTest, EveryOptimizerTrainsTheSupernetAndDerivesAValidArchitecture) {
  for (const char* name : {"darts", "darts_sparsemax", "drnas", "gdas", "spos"}) {
    SearchOptions options = Options(name, 60, 1e-2);
    options.checkpoints = 4;
    auto result = RunSearch(Space({4, 8}), Data(), options);
    ASSERT_TRUE(result.ok()) << name << ": " << result.status();
    ASSERT_EQ(result->steps.size(), 60u);
    const double first = result->steps[0].weight_loss;
    const double last = result->steps.back().weight_loss;
    EXPECT_LT(last, first - 0.3) << name << ": " << first << " -> " << last;
    const bool spos = std::string(name) == "spos";
    ASSERT_EQ(result->derived.size(), spos ? 2u : 1u) << name;
    for (const DerivedArchitecture& derived : result->derived) {
      EXPECT_TRUE(derived.architecture_json.contains("embed")) << name;
      EXPECT_TRUE(derived.network.has_value()) << name;
      EXPECT_EQ(derived.network->ParameterCount(), derived.parameters) << name;
      ASSERT_FALSE(derived.curve.empty()) << name;
      EXPECT_EQ(derived.curve.back().architecture, derived.architecture_json) << name;
      EXPECT_LE(derived.curve.back().seconds, derived.search_seconds) << name;
    }
    if (!spos) {
      EXPECT_EQ(result->derived[0].method, name);
      EXPECT_EQ(result->derived[0].curve.size(), 4u) << name;  // one point per checkpoint
      EXPECT_EQ(result->derived[0].curve.back().step, 60) << name;
      EXPECT_EQ(result->steps.back().alpha_distributions["heads"].size(), 2u) << name;
    }
  }
}

TEST(SearchTest, GradientSearchFindsThePlantedBestWidth) {
  // A 2-wide embedding can barely model the Markov chain; a 16-wide one can. The choice is clear-cut.
  for (const char* name : {"darts", "drnas"}) {
    auto result = RunSearch(Space({2, 16}), Data(), Options(name, 150, 1e-2, 3e-2));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->derived[0].architecture_json["embed"], 16)
        << name << ": " << result->derived[0].architecture_json;
  }
}

TEST(SearchTest, SposRunsRandomAndEvolutionarySearchOnTheTrainedSupernet) {
  SearchOptions options = Options("spos", 150, 1e-2);
  options.search_candidates = 24;
  auto result = RunSearch(Space({2, 16}), Data(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->derived.size(), 2u);
  EXPECT_EQ(result->derived[0].method, "spos+random");
  EXPECT_EQ(result->derived[1].method, "spos+evolution");
  // Both start from random architectures with the same budget: each must find the clearly
  // better width here.
  EXPECT_EQ(result->derived[0].architecture_json["embed"], 16);
  EXPECT_EQ(result->derived[1].architecture_json["embed"], 16);
  // Their clocks start after the same supernet training.
  EXPECT_GT(result->derived[0].curve.front().seconds, 0.0);
}

TEST(SearchTest, RandomBaselineTrainsItsSampleForTheSearchBudget) {
  SearchOptions options = Options("random", 120, 1e-2);
  options.random_architectures = 4;
  auto result = RunSearch(Space({2, 16}), Data(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->steps.empty());
  EXPECT_EQ(result->supernet_parameters, 0);
  ASSERT_EQ(result->derived.size(), 1u);
  const DerivedArchitecture& derived = result->derived[0];
  EXPECT_EQ(derived.method, "random");
  ASSERT_FALSE(derived.curve.empty());
  EXPECT_EQ(derived.curve.back().architecture, derived.architecture_json);
  EXPECT_LE(derived.curve.back().step, 120);  // 4 networks x 30 steps
  EXPECT_EQ(derived.curve.back().step % 30, 0);
  EXPECT_TRUE(derived.network.has_value());
}

TEST(SearchTest, RandomArchitecturesAreAlwaysValid) {
  SearchSpace space = Space({4, 8, 12});
  space.heads = {1, 2, 4};
  space.layers = {1, 3};
  std::mt19937_64 rng(5);
  std::set<int> embeds;
  for (int i = 0; i < 500; ++i) {
    const Architecture arch = RandomArchitecture(space, rng);
    ASSERT_GE(arch.embed, 0);
    ASSERT_LT(arch.embed, 3);
    ASSERT_GE(arch.layers, 0);
    ASSERT_LT(arch.layers, 2);
    ASSERT_EQ(arch.heads.size(), 3u);  // one per layer of the deepest candidate
    ASSERT_EQ(arch.mlp_ratio.size(), 3u);
    for (int l = 0; l < 3; ++l) {
      ASSERT_TRUE(arch.heads[l] >= 0 && arch.heads[l] < 3);
      ASSERT_TRUE(arch.mlp_ratio[l] >= 0 && arch.mlp_ratio[l] < 2);
      ASSERT_EQ(space.embed[arch.embed] % space.heads[arch.heads[l]], 0);
    }
    embeds.insert(arch.embed);
  }
  EXPECT_EQ(embeds.size(), 3u);  // every width drawn
}

TEST(SearchTest, BadOptionsAreClearErrors) {
  SearchOptions options;
  options.train_portion = 1.0;
  EXPECT_FALSE(RunSearch(Space({4}), Data(), options).ok());
  SearchSpace small_vocab = Space({4});
  small_vocab.vocab_size = 4;
  EXPECT_NE(RunSearch(small_vocab, Data(), SearchOptions()).status().message().find("vocabulary"),
            std::string::npos);
  EXPECT_EQ(ParseSearchMethod("bohb").status().message(),
            "unknown search method 'bohb'; known: darts, darts_sparsemax, drnas, gdas, spos, "
            "random");
  options = SearchOptions();
  options.storage = WeightStorage::kSeparate;
  options.attention = AttentionMode::kReference;
  EXPECT_NE(RunSearch(Space({4}), Data(), options).status().message().find("entangled storage"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
