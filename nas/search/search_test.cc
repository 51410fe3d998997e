#include "nas/search/search.h"

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

TEST(SearchTest, EveryOptimizerTrainsTheSupernetAndDerivesAValidArchitecture) {
  for (const char* name : {"darts", "darts_sparsemax", "drnas", "gdas", "spos"}) {
    SearchOptions options;
    options.optimizer = *ParseSamplerKind(name);
    options.steps = 60;
    options.weight_lr = 1e-2;
    options.arch_lr = 1e-2;
    auto result = RunSearch(Space({4, 8}), Data(), options);
    ASSERT_TRUE(result.ok()) << name << ": " << result.status();
    ASSERT_EQ(result->steps.size(), 60u);
    const double first = result->steps[0].weight_loss;
    const double last = result->steps.back().weight_loss;
    EXPECT_LT(last, first - 0.3) << name << ": " << first << " -> " << last;
    EXPECT_TRUE(result->derived_json.contains("embed")) << name;
    EXPECT_EQ(result->steps.back().alpha_distributions["heads"].size(), 2u) << name;
  }
}

TEST(SearchTest, GradientSearchFindsThePlantedBestWidth) {
  // A 2-wide embedding can barely model the Markov chain; a 16-wide one can. The choice is clear-cut.
  for (const char* name : {"darts", "drnas"}) {
    SearchOptions options;
    options.optimizer = *ParseSamplerKind(name);
    options.steps = 150;
    options.weight_lr = 1e-2;
    options.arch_lr = 3e-2;
    auto result = RunSearch(Space({2, 16}), Data(), options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->derived_json["embed"], 16) << name << ": " << result->derived_json;
  }
}

TEST(SearchTest, SposRunsRandomAndEvolutionarySearchOnTheTrainedSupernet) {
  SearchOptions options;
  options.optimizer = SamplerKind::kSpos;
  options.steps = 150;
  options.weight_lr = 1e-2;
  options.search_candidates = 24;
  auto result = RunSearch(Space({2, 16}), Data(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->spos_searches.contains("random"));
  ASSERT_TRUE(result->spos_searches.contains("evolution"));
  // Evolution starts from random architectures too, with the same budget: it must find the clearly
  // better width here, and its winner is the derived architecture.
  EXPECT_EQ(result->derived_json["embed"], 16) << result->spos_searches;
  EXPECT_EQ(result->spos_searches["evolution"]["architecture"], result->derived_json);
}

TEST(SearchTest, BadOptionsAreClearErrors) {
  SearchOptions options;
  options.train_portion = 1.0;
  EXPECT_FALSE(RunSearch(Space({4}), Data(), options).ok());
  SearchSpace small_vocab = Space({4});
  small_vocab.vocab_size = 4;
  EXPECT_NE(RunSearch(small_vocab, Data(), SearchOptions()).status().message().find("vocabulary"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
