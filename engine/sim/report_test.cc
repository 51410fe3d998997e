#include "engine/sim/report.h"

#include "engine/schedule/registry.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

SimulationResult SimulateWithTimeline(const std::string& name, int p, int m) {
  ScheduleParams params;
  params.stages = p;
  params.microbatches = m;
  auto schedule = MakeSchedule(name, params);
  EXPECT_TRUE(schedule.ok());
  auto result = Simulate(**schedule, CostModel(), {.record_timeline = true});
  EXPECT_TRUE(result.ok());
  return *result;
}

TEST(ReportTest, JsonHasTheDocumentedFields) {
  const nlohmann::json j = SimulationToJson(SimulateWithTimeline("1f1b_flush", 4, 8));
  for (const char* key :
       {"makespan", "throughput", "bubble_fraction", "stages", "max_version_drift"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  ASSERT_EQ(j["stages"].size(), 4u);
  for (const char* key : {"bubble_fraction", "peak_inflight", "peak_memory_bytes",
                          "weight_copies", "max_version_drift"}) {
    EXPECT_TRUE(j["stages"][0].contains(key)) << key;
  }
  EXPECT_NEAR(j["bubble_fraction"].get<double>(), 3.0 / 11.0, 1e-12);
  EXPECT_EQ(j["stages"][0]["peak_inflight"], 4);
}

TEST(ReportTest, GridShowsOneRowPerStageInTimeOrder) {
  const std::string grid = TimelineGrid(SimulateWithTimeline("gpipe", 2, 2));
  // F = 1 unit, unsplit B = 2 units: each B fills two columns.
  EXPECT_NE(grid.find("stage 0 | F0 F1 .  .  .  B0 B0 B1 B1"), std::string::npos) << grid;
  EXPECT_NE(grid.find("stage 1 | .  F0 F1 B0 B0 B1 B1 .  ."), std::string::npos) << grid;
}

TEST(ReportTest, GridIsCutWithANote) {
  const std::string grid = TimelineGrid(SimulateWithTimeline("gpipe", 2, 50), /*max_columns=*/10);
  EXPECT_NE(grid.find("cut at 10 of"), std::string::npos);
}

TEST(ReportTest, ChromeTraceHasOneSlicePerActionAndStageNames) {
  const SimulationResult r = SimulateWithTimeline("1f1b_flush", 2, 2);
  const nlohmann::json trace = nlohmann::json::parse(ChromeTrace(r));
  int slices = 0;
  bool named = false;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X") ++slices;
    if (e["ph"] == "M" && e["args"]["name"] == "stage 1") named = true;
  }
  EXPECT_EQ(slices, static_cast<int>(r.timeline.size()));
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace pipebench
