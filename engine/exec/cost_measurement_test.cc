#include "engine/exec/cost_measurement.h"

#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(CostMeasurementTest, MeasuresEveryStageInTheCostFileFormat) {
  GptConfig model;
  model.vocab_size = 32;
  model.layers = 4;
  model.embed = 32;
  model.heads = 2;
  model.context = 16;
  auto partition = PartitionByLayers(GptModel(model), 2);
  ASSERT_TRUE(partition.ok());
  auto costs = MeasureStageCosts(GptModel(model), *partition, {.micro_batch_size = 4, .warmup = 1, .repeats = 3});
  ASSERT_TRUE(costs.ok()) << costs.status();
  ASSERT_EQ(costs->stages.size(), 2u);
  EXPECT_TRUE(costs->Validate(2).ok());
  for (const StageCost& c : costs->stages) {
    EXPECT_GT(c.forward, 0);
    EXPECT_GT(c.backward(), 0);
    EXPECT_GT(c.optimizer_step, 0);
  }
  EXPECT_EQ(costs->stages[0].backward_input, 0);  // nothing upstream of stage 0
  EXPECT_EQ(costs->stages[0].activation_bytes, 4 * 16 * 32 * 4);
  EXPECT_EQ(costs->stages[1].activation_bytes, 0);
  EXPECT_GT(costs->memory[0].parameter_bytes, 0);
  EXPECT_EQ(costs->memory[0].optimizer_state_bytes, 2 * costs->memory[0].parameter_bytes);
  // The file round-trips through the simulator's parser.
  auto parsed = ParseCostModelJson(CostModelToJson(*costs));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->stages.size(), 2u);
}

}  // namespace
}  // namespace pipebench
