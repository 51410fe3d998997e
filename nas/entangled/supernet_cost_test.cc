#include "nas/entangled/supernet_cost.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

SearchSpace Space() {
  auto space = ParseSearchSpace(
      R"({"embed": [8, 16], "heads": [2, 4], "mlp_ratio": [2, 3], "layers": [1, 2], "context": 8})",
      12);
  EXPECT_TRUE(space.ok()) << space.status();
  return *space;
}

SupernetCost Measure(WeightStorage storage, Mixing mixing, AttentionMode attention) {
  SupernetCostOptions options;
  options.network.storage = storage;
  options.network.attention = attention;
  options.mixing = mixing;
  options.batch_size = 4;
  options.steps = 3;
  auto cost = MeasureSupernetCost(Space(), options);
  EXPECT_TRUE(cost.ok()) << cost.status();
  return cost.ok() ? *cost : SupernetCost();
}

TEST(SupernetCostTest, CountsParametersAndMeasuresEveryConfiguration) {
  const SupernetCost entangled =
      Measure(WeightStorage::kEntangled, Mixing::kDense, AttentionMode::kExact);
  const SupernetCost sharing =
      Measure(WeightStorage::kSeparate, Mixing::kDense, AttentionMode::kExact);
  EXPECT_LT(entangled.parameters, sharing.parameters);
  EXPECT_EQ(entangled.parameter_bytes, 4 * entangled.parameters);
  EXPECT_EQ(entangled.optimizer_state_bytes, 2 * entangled.parameter_bytes);
  for (const SupernetCost& cost : {entangled, sharing}) {
    EXPECT_GT(cost.step_seconds, 0.0);
    EXPECT_GT(cost.peak_rss_bytes, cost.parameter_bytes);
    EXPECT_GE(cost.step_working_bytes, 0);
  }
}

TEST(SupernetCostTest, OnlyTheReferenceModeDepartsFromTheExtractedNetwork) {
  for (Mixing mixing : {Mixing::kDense, Mixing::kOneHot}) {
    EXPECT_LT(Measure(WeightStorage::kEntangled, mixing, AttentionMode::kExact)
                  .one_hot_max_abs_diff,
              1e-6);
    EXPECT_LT(Measure(WeightStorage::kSeparate, mixing, AttentionMode::kExact)
                  .one_hot_max_abs_diff,
              1e-6);
    // The smallest probe (width 8 of 16) splits padded projections into heads differently; the
    // gap is small only because a fresh supernet's attention is (weights of std 0.02).
    EXPECT_GT(Measure(WeightStorage::kEntangled, mixing, AttentionMode::kReference)
                  .one_hot_max_abs_diff,
              1e-5);
  }
}

TEST(SupernetCostTest, ResidentMemoryIsReadableAndItsMarkResettable) {
  auto memory = ReadResidentMemory();
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_GT(memory->rss_bytes, 0);
  EXPECT_GE(memory->high_water_bytes, memory->rss_bytes);
  EXPECT_TRUE(ResetResidentHighWater().ok());
}

TEST(SupernetCostTest, BadNamesAreErrors) {
  EXPECT_EQ(ParseMixing("sparse").status().message(), "unknown mixing 'sparse' (dense or one_hot)");
  EXPECT_EQ(MixingName(*ParseMixing("one_hot")), "one_hot");
}

}  // namespace
}  // namespace pipebench
