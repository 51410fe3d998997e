#include "engine/sim/cost_model.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(CostModelTest, ParsesPerStageCostsMemoryAndLinks) {
  auto model = ParseCostModelJson(R"({
    "description": "two stages",
    "p2p": {"latency": 0.5, "bandwidth_bytes_per_second": 1000},
    "stages": [
      {"forward": 1, "backward_input": 2, "backward_weight": 3, "optimizer_step": 0.25,
       "activation_bytes": 100, "parameter_bytes": 10, "optimizer_state_bytes": 20,
       "activation_memory_bytes": 30},
      {"forward": 4}
    ]})");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->p2p_latency, 0.5);
  EXPECT_EQ(model->SerializationTime(100), 0.1);
  EXPECT_EQ(model->cost(0).backward(), 5);
  EXPECT_EQ(model->cost(1).forward, 4);
  EXPECT_EQ(model->cost(1).backward_input, 1);  // defaults
  EXPECT_EQ(model->memory_of(0).activation_bytes, 30);
  EXPECT_TRUE(model->Validate(2).ok());
  EXPECT_FALSE(model->Validate(3).ok());
}

TEST(CostModelTest, UniformEntryAppliesToEveryStage) {
  auto model = ParseCostModelJson(R"({"stages": [{"forward": 2}]})");
  ASSERT_TRUE(model.ok());
  EXPECT_TRUE(model->Validate(64).ok());
  EXPECT_EQ(model->cost(63).forward, 2);
}

TEST(CostModelTest, RejectsUnknownKeysWrongTypesAndNegatives) {
  EXPECT_NE(ParseCostModelJson(R"({"stages": [{"forwrd": 1}]})").status().message().find(
                "unknown key 'forwrd' in stages[0]"),
            std::string::npos);
  EXPECT_NE(ParseCostModelJson(R"({"stages": [{"forward": "fast"}]})").status().message().find(
                "stages[0].forward must be a number"),
            std::string::npos);
  EXPECT_NE(ParseCostModelJson(R"({"stages": []})").status().message().find("non-empty"),
            std::string::npos);
  EXPECT_NE(ParseCostModelJson("{not json").status().message().find("not valid JSON"),
            std::string::npos);
  // A number no double holds was an uncaught exception (found by cost_model_fuzz_test).
  EXPECT_NE(ParseCostModelJson(R"({"stages": [{"forward": 1e1011}]})").status().message().find(
                "not valid JSON"),
            std::string::npos);
  auto negative = ParseCostModelJson(R"({"stages": [{"backward_weight": -1}]})");
  ASSERT_TRUE(negative.ok());
  EXPECT_NE(negative->Validate(1).message().find("stage 0 backward_weight cost"),
            std::string::npos);
}

TEST(CostModelTest, RoundTripsThroughAFile) {
  CostModel model;
  model.stages = {{1, 2, 3, 0.5, 64}, {4, 5, 6, 0.5, 64}};
  model.memory = {{100, 200, 300}, {400, 500, 600}};
  model.p2p_latency = 1e-4;
  model.p2p_bandwidth = 1e9;
  const std::string path = ::testing::TempDir() + "/costs.json";
  std::ofstream(path) << CostModelToJson(model);
  auto loaded = LoadCostModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->stages.size(), 2u);
  EXPECT_EQ(loaded->cost(1).backward_weight, 6);
  EXPECT_EQ(loaded->memory_of(1).optimizer_state_bytes, 500);
  EXPECT_EQ(loaded->p2p_bandwidth, 1e9);
}

TEST(CostModelTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadCostModel("/nonexistent/costs.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pipebench
