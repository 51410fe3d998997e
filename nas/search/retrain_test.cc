#include "nas/search/retrain.h"

#include "nas/search/search.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

SearchSpace Space() {
  SearchSpace space;
  space.embed = {8, 16};
  space.heads = {2};
  space.mlp_ratio = {2};
  space.layers = {1};
  space.context = 8;
  space.vocab_size = 16;
  return space;
}

RetrainOptions Options() {
  RetrainOptions options;
  options.steps = 150;
  options.optimizer.config.learning_rate = 1e-2;
  return options;
}

TEST(RetrainTest, FineTuningTheDerivedNetworkLowersItsValidationLoss) {
  const TokenDataset data = TokenDataset::Synthetic(16, 40000, 5);
  auto supernet = EntangledGpt::Create(Space(), 0);
  ASSERT_TRUE(supernet.ok());
  GptNetwork derived = supernet->Extract(Architecture{1, 0, {0}, {0}});
  const double before = DerivedValidationLoss(derived, data, 8, 8, 4, 0);
  TrainNetwork(derived, data, 8, Options());
  const double after = DerivedValidationLoss(derived, data, 8, 8, 4, 0);
  EXPECT_LT(after, before - 0.5) << before << " -> " << after;
}

TEST(RetrainTest, EvaluationTrainsACopyAndAFreshNetworkAndLeavesTheInheritedOneAlone) {
  const TokenDataset data = TokenDataset::Synthetic(16, 40000, 5);
  SupernetOptions network;
  network.tied_embeddings = true;
  network.dropout = 0.1;
  auto supernet = EntangledGpt::Create(Space(), 0, network);
  ASSERT_TRUE(supernet.ok());
  const Architecture arch{1, 0, {0}, {0}};
  const GptNetwork inherited = supernet->Extract(arch);
  const torch::Tensor before = inherited.weights[0].clone();
  EvaluationPlan plan;
  plan.finetune = true;
  plan.scratch = true;
  auto evaluation = EvaluateDerived(Space(), arch, inherited, network, data, Options(), plan);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status();
  EXPECT_TRUE(torch::equal(inherited.weights[0], before));
  ASSERT_TRUE(evaluation->val_loss_finetuned.has_value());
  ASSERT_TRUE(evaluation->val_loss_scratch.has_value());
  EXPECT_LT(*evaluation->val_loss_finetuned, evaluation->val_loss_inherited - 0.5);
  EXPECT_LT(*evaluation->val_loss_scratch, evaluation->val_loss_inherited - 0.5);
}

TEST(RetrainTest, AFreshNetworkHasTheArchitecturesShapeAndItsOwnDraw) {
  SupernetOptions network;
  network.tied_embeddings = true;
  const Architecture arch{0, 0, {0}, {0}};
  const GptNetwork a = FreshNetwork(Space(), arch, network, 1);
  const GptNetwork b = FreshNetwork(Space(), arch, network, 2);
  EXPECT_EQ(a.ParameterCount(), DerivedParameterCount(Space(), arch, /*tied_embeddings=*/true));
  EXPECT_FALSE(torch::equal(a.weights[0], b.weights[0]));
}

TEST(RetrainTest, UnigramLossIsTheEntropyOfTheCharacterFrequencies) {
  const TokenDataset data = TokenDataset::Synthetic(16, 40000, 5);
  const double unigram = UnigramValidationLoss(data, 8, 8, 4, 0);
  // Below a uniform guess (the chain's symbols are not equally frequent), well above a model
  // that has learnt the successors.
  EXPECT_LT(unigram, std::log(16.0) - 0.05);
  auto supernet = EntangledGpt::Create(Space(), 0);
  ASSERT_TRUE(supernet.ok());
  GptNetwork derived = supernet->Extract(Architecture{1, 0, {0}, {0}});
  TrainNetwork(derived, data, 8, Options());
  EXPECT_LT(DerivedValidationLoss(derived, data, 8, 8, 4, 0), unigram - 0.3);
}

}  // namespace
}  // namespace pipebench
