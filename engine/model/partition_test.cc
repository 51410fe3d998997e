#include "engine/model/partition.h"

#include "engine/model/gpt.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

GptModel Layers(int layers) {
  GptConfig config;
  config.layers = layers;
  return GptModel(config);
}

TEST(PartitionTest, EqualSplitGivesEmbeddingToFirstAndHeadToLast) {
  auto ranges = PartitionByLayers(Layers(6), 4);
  ASSERT_TRUE(ranges.ok());
  // Units: 0 embedding, 1..6 blocks, 7 head; blocks 2,2,1,1.
  EXPECT_EQ(*ranges, (std::vector<UnitRange>{{0, 3}, {3, 5}, {5, 6}, {6, 8}}));
  auto single = PartitionByLayers(Layers(3), 1);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(*single, (std::vector<UnitRange>{{0, 5}}));
}

TEST(PartitionTest, CostSplitBalancesTheSlowestStage) {
  // A heavy head (e.g. a large vocabulary) pushes blocks toward the first stage.
  const std::vector<double> costs = {0.1, 1, 1, 1, 1, 3};
  auto ranges = PartitionByCost(Layers(4), costs, 2);
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ(*ranges, (std::vector<UnitRange>{{0, 4}, {4, 6}}));  // 3.1 vs 4
  auto equal = PartitionByCost(Layers(4), {0, 1, 1, 1, 1, 0}, 4);
  ASSERT_TRUE(equal.ok());
  EXPECT_EQ(equal->size(), 4u);
}

TEST(PartitionTest, ImpossibleSplitsAreClearErrors) {
  EXPECT_NE(PartitionByLayers(Layers(2), 3).status().message().find("stages (3) > layers (2)"),
            std::string::npos);
  EXPECT_NE(PartitionFromBlockCounts(Layers(4), {2, 0, 2}).status().message().find(
                "leaves stage 1 without layers"),
            std::string::npos);
  EXPECT_NE(PartitionFromBlockCounts(Layers(4), {2, 1}).status().message().find(
                "covers 3 layers, the model has 4"),
            std::string::npos);
  EXPECT_FALSE(PartitionByCost(Layers(4), {1, 1}, 2).ok());
}

}  // namespace
}  // namespace pipebench
