#include "engine/sim/report.h"

#include "engine/schedule/registry.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

std::unique_ptr<Schedule> MakeOrDie(const std::string& name, int p, int m, int chunks = 1) {
  ScheduleParams params;
  params.stages = p;
  params.microbatches = m;
  params.chunks = chunks;
  auto schedule = MakeSchedule(name, params);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  return std::move(*schedule);
}

SimulationResult SimulateWithTimeline(const std::string& name, int p, int m) {
  auto result = Simulate(*MakeOrDie(name, p, m), CostModel(), {.record_timeline = true});
  EXPECT_TRUE(result.ok());
  return *result;
}

TEST(ReportTest, SummaryHasTheSimulatedClockOnly) {
  auto schedule = MakeOrDie("1f1b_flush", 4, 8);
  const SimulationResult r = *Simulate(*schedule, CostModel());
  const RunSummary s = SummarizeSimulation(r, *schedule, /*tokens_per_microbatch=*/64);
  EXPECT_EQ(s.backend, "simulator");
  ASSERT_TRUE(s.simulated.has_value());
  EXPECT_FALSE(s.measured.has_value());
  EXPECT_NEAR(*s.simulated->bubble_fraction, 3.0 / 11.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.simulated->microbatches_per_second, 8 / r.makespan);
  EXPECT_DOUBLE_EQ(*s.simulated->tokens_per_second, 8 * 64 / r.makespan);
  ASSERT_EQ(s.ranks.size(), 4u);
  EXPECT_EQ(s.ranks[3].simulated_bubble_fraction, r.stages[3].bubble_fraction);
  ASSERT_EQ(s.model_stages.size(), 4u);
  EXPECT_EQ(s.model_stages[0].drift_histogram, std::vector<std::int64_t>({8}));
}

TEST(ReportTest, SummaryDriftIsPerModelStage) {
  // Interleaved: rank 0 holds model stages 0 and 2. PACI at p = 3, a = 1: stage s crosses
  // p - s - 1 updates, so each model stage has its own drift under one rank.
  auto interleaved = MakeOrDie("interleaved_1f1b", 2, 4, /*chunks=*/2);
  const RunSummary s = SummarizeSimulation(*Simulate(*interleaved, CostModel()), *interleaved);
  ASSERT_EQ(s.model_stages.size(), 4u);
  EXPECT_EQ(s.model_stages[2].rank, 0);
  EXPECT_EQ(s.model_stages[3].rank, 1);
  ScheduleParams params;
  params.stages = 3;
  params.microbatches = 6;
  params.batches = 2;
  params.accumulation = 1;
  auto paci = *MakeSchedule("paci", params);
  const RunSummary p = SummarizeSimulation(*Simulate(*paci, CostModel()), *paci);
  EXPECT_EQ(p.model_stages[0].max_drift, 2);
  EXPECT_EQ(p.model_stages[1].max_drift, 1);
  EXPECT_EQ(p.model_stages[2].max_drift, 0);
  EXPECT_EQ(p.max_drift, 2);
  for (const ModelStageSummary& m : p.model_stages) EXPECT_EQ(m.max_drift, m.drift_bound);
}

TEST(ReportTest, GridShowsOneRowPerRankInTimeOrder) {
  const std::string grid = TimelineGrid(SimulateWithTimeline("gpipe", 2, 2));
  // F = 1 unit, unsplit B = 2 units: each B fills two columns.
  EXPECT_NE(grid.find("rank 0 | F0 F1 .  .  .  B0 B0 B1 B1"), std::string::npos) << grid;
  EXPECT_NE(grid.find("rank 1 | .  F0 F1 B0 B0 B1 B1 .  ."), std::string::npos) << grid;
}

TEST(ReportTest, GridIsCutWithANote) {
  const std::string grid = TimelineGrid(SimulateWithTimeline("gpipe", 2, 50), /*max_columns=*/10);
  EXPECT_NE(grid.find("cut at 10 of"), std::string::npos);
}

TEST(ReportTest, ChromeTraceHasOneSlicePerActionAndRankNames) {
  const SimulationResult r = SimulateWithTimeline("1f1b_flush", 2, 2);
  const nlohmann::json trace = nlohmann::json::parse(ChromeTrace(r));
  int slices = 0;
  bool named = false;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X") ++slices;
    if (e["ph"] == "M" && e["args"]["name"] == "rank 1 (model stages 1)") named = true;
  }
  EXPECT_EQ(slices, static_cast<int>(r.timeline.size()));
  EXPECT_TRUE(named);
}

// A V-shaped schedule's rank 0 holds the first and the last model stage; the trace says so, and
// each slice names its model stage.
TEST(ReportTest, ChromeTraceNamesTheModelStagesOfAVShapedSchedule) {
  auto schedule = MakeOrDie("zb_v", 2, 4, /*chunks=*/2);
  const SimulationResult r = *Simulate(*schedule, CostModel(), {.record_timeline = true});
  const nlohmann::json trace = nlohmann::json::parse(ChromeTrace(r));
  bool named = false;
  int last_stage_forwards = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "M" && e["args"]["name"] == "rank 0 (model stages 0, 3)") named = true;
    if (e["ph"] == "X" && e["cat"] == "F" && e["args"]["model_stage"] == 3) {
      EXPECT_EQ(e["tid"], 0);
      ++last_stage_forwards;
    }
  }
  EXPECT_TRUE(named);
  EXPECT_EQ(last_stage_forwards, 4);
}

}  // namespace
}  // namespace pipebench
