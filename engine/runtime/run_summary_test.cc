#include "engine/runtime/run_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

RunSummary FullSummary() {
  RunSummary s;
  s.backend = "distributed";
  s.schedule = "paci";
  s.params = {.stages = 2, .microbatches = 4, .batches = 3, .accumulation = 2, .chunks = 1};
  s.weights = "latest";
  s.synchronous = false;
  s.microbatches = 12;
  s.tokens = 12 * 64;
  s.simulated = OnClock(6.0, 12, s.tokens);
  s.measured = OnClock(3.0, 12, s.tokens);
  s.measured->bubble_fraction = 0.25;
  s.max_drift = 1;
  RankSummary rank;
  rank.rank = 1;
  rank.simulated_bubble_fraction = 0.5;
  rank.simulated_peak_memory_bytes = 1 << 20;
  rank.measured_bubble_fraction = 0.125;
  rank.measured_peak_rss_bytes = 3 << 20;
  rank.measured_median_action_seconds = {{"forward", 0.01}, {"backward", 0.02}};
  s.ranks = {rank};
  s.model_stages = {{.model_stage = 0, .rank = 0, .max_drift = 1, .drift_bound = 1,
                     .max_live_weight_versions = 1, .drift_histogram = {4, 8},
                     .max_weight_drift = 1, .max_architecture_drift = 0}};
  s.train_losses = {4.0, 3.5, 3.25};
  s.final_val_loss = 3.0;
  return s;
}

TEST(RunSummaryTest, OnClockDividesByTheClocksSeconds) {
  const ClockSummary clock = OnClock(4.0, 8, 512);
  EXPECT_DOUBLE_EQ(clock.microbatches_per_second, 2.0);
  EXPECT_DOUBLE_EQ(*clock.tokens_per_second, 128.0);
  EXPECT_FALSE(OnClock(4.0, 8, std::nullopt).tokens_per_second.has_value());
  EXPECT_DOUBLE_EQ(OnClock(0.0, 8, 512).microbatches_per_second, 0.0);
}

TEST(RunSummaryTest, RoundTripsEveryField) {
  const nlohmann::json json = RunSummaryToJson(FullSummary());
  absl::StatusOr<RunSummary> back = RunSummaryFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RunSummaryToJson(*back), json);
  EXPECT_EQ(json["schema_version"], kRunSummarySchemaVersion);
  EXPECT_EQ(json["measured"]["tokens_per_second"], 256.0);
  EXPECT_EQ(json["ranks"][0]["measured"]["median_action_seconds"]["backward"], 0.02);
  EXPECT_EQ(json["model_stages"][0]["drift_histogram"], nlohmann::json({4, 8}));
  EXPECT_EQ(json["model_stages"][0]["max_weight_drift"], 1);
  EXPECT_EQ(json["model_stages"][0]["max_architecture_drift"], 0);
}

TEST(RunSummaryTest, LeavesOutWhatABackendDoesNotHave) {
  RunSummary s = FullSummary();
  s.measured.reset();
  s.tokens.reset();
  s.simulated = OnClock(6.0, 12, std::nullopt);
  s.ranks[0] = {.rank = 0};
  s.model_stages[0].drift_histogram.clear();
  s.model_stages[0].max_weight_drift.reset();
  s.model_stages[0].max_architecture_drift.reset();
  s.train_losses.clear();
  s.final_val_loss.reset();
  const nlohmann::json json = RunSummaryToJson(s);
  for (const char* absent : {"measured", "tokens", "train_losses", "final_val_loss"}) {
    EXPECT_FALSE(json.contains(absent)) << absent;
  }
  EXPECT_FALSE(json["simulated"].contains("tokens_per_second"));
  EXPECT_EQ(json["ranks"][0], nlohmann::json({{"rank", 0}}));
  for (const char* absent : {"drift_histogram", "max_weight_drift", "max_architecture_drift"}) {
    EXPECT_FALSE(json["model_stages"][0].contains(absent)) << absent;
  }
  absl::StatusOr<RunSummary> back = RunSummaryFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RunSummaryToJson(*back), json);
}

TEST(RunSummaryTest, AnotherSchemaVersionIsRefusedWithAnInstruction) {
  nlohmann::json json = RunSummaryToJson(FullSummary());
  json["schema_version"] = 0;
  absl::StatusOr<RunSummary> back = RunSummaryFromJson(json);
  ASSERT_FALSE(back.ok());
  EXPECT_THAT(back.status().message(), HasSubstr("schema_version 0"));
  EXPECT_THAT(back.status().message(), HasSubstr("rerun"));
}

TEST(RunSummaryTest, AMissingOrMistypedFieldIsNamed) {
  nlohmann::json json = RunSummaryToJson(FullSummary());
  json.erase("schedule");
  EXPECT_THAT(RunSummaryFromJson(json).status().message(), HasSubstr("'schedule'"));
  json = RunSummaryToJson(FullSummary());
  json["model_stages"][0]["max_drift"] = "one";
  EXPECT_THAT(RunSummaryFromJson(json).status().message(), HasSubstr("'model_stages'"));
}

TEST(RunSummaryTest, DriftIsSplitByKindOnlyInBiLevelRuns) {
  ModelStageSummary plain;
  SetDriftPerKind(plain, {3});
  EXPECT_FALSE(plain.max_weight_drift.has_value());
  EXPECT_FALSE(plain.max_architecture_drift.has_value());
  ModelStageSummary bilevel;
  SetDriftPerKind(bilevel, {2, 1});
  EXPECT_EQ(bilevel.max_weight_drift, 2);
  EXPECT_EQ(bilevel.max_architecture_drift, 1);
}

}  // namespace
}  // namespace pipebench
