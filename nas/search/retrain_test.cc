#include "nas/search/retrain.h"

#include "nas/search/search.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(RetrainTest, FineTuningTheDerivedNetworkLowersItsValidationLoss) {
  SearchSpace space;
  space.embed = {8, 16};
  space.heads = {2};
  space.mlp_ratio = {2};
  space.layers = {1};
  space.context = 8;
  space.vocab_size = 16;
  const TokenDataset data = TokenDataset::Synthetic(16, 40000, 5);
  auto supernet = EntangledGpt::Create(space, 0);
  ASSERT_TRUE(supernet.ok());
  DerivedGpt derived = supernet->Extract(Architecture{1, 0, {0}, {0}});
  const double before = DerivedValidationLoss(derived, data, 8, 8, 4, 0);
  RetrainOptions options;
  options.steps = 150;
  options.learning_rate = 1e-2;
  const double after = Retrain(derived, data, 8, options);
  EXPECT_LT(after, before - 0.5) << before << " -> " << after;
}

}  // namespace
}  // namespace pipebench
