#include "engine/sim/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/util/file_io.h"

namespace pipebench {

using nlohmann::json;

RunSummary SummarizeSimulation(const SimulationResult& result, const Schedule& schedule,
                               std::optional<std::int64_t> tokens_per_microbatch) {
  const ScheduleParams& p = result.params;
  RunSummary summary;
  summary.backend = "simulator";
  summary.schedule = result.schedule;
  summary.params = p;
  summary.weights = result.weights;
  summary.synchronous = schedule.synchronous();
  summary.microbatches = p.total_microbatches();
  if (tokens_per_microbatch) summary.tokens = summary.microbatches * *tokens_per_microbatch;
  summary.simulated = OnClock(result.makespan, summary.microbatches, summary.tokens);
  summary.simulated->bubble_fraction = result.bubble_fraction;
  summary.max_drift = result.max_drift;
  for (size_t rank = 0; rank < result.stages.size(); ++rank) {
    const StageStats& s = result.stages[rank];
    summary.ranks.push_back({.rank = static_cast<int>(rank),
                             .simulated_bubble_fraction = s.bubble_fraction,
                             .simulated_peak_memory_bytes = s.peak_memory_bytes,
                             .simulated_span_seconds = s.compute_span});
  }
  for (int stage = 0; stage < p.model_stages(); ++stage) {
    ModelStageSummary m;
    m.model_stage = stage;
    m.rank = schedule.RankOfStage(stage);
    m.drift_bound = result.stages[m.rank].drift_bound;
    // The simulator counts weight versions per rank; every chunk of a rank steps together, so
    // each of its model stages holds that many.
    m.max_live_weight_versions = result.stages[m.rank].weight_copies;
    for (int mb = 0; mb < p.total_microbatches(); ++mb) {
      const int crossed = result.UpdatesCrossed(stage, mb);
      m.max_drift = std::max(m.max_drift, crossed);
      CountInDriftHistogram(m, crossed);
    }
    summary.model_stages.push_back(std::move(m));
  }
  return summary;
}

std::string ChromeTrace(const SimulationResult& result, double seconds_per_unit) {
  const double to_us = seconds_per_unit * 1e6;
  json events = json::array();
  for (size_t rank = 0; rank < result.stages.size(); ++rank) {
    const std::string stages = absl::StrJoin(result.model_stages_of_rank[rank], ", ");
    events.push_back(
        {{"name", "thread_name"}, {"ph", "M"}, {"pid", 0}, {"tid", rank},
         {"args", {{"name", absl::StrCat("rank ", rank, " (model stages ", stages, ")")}}}});
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", rank},
                      {"args", {{"name", absl::StrCat("sends from rank ", rank)}}}});
  }
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 0},
                    {"args", {{"name", absl::StrCat(result.schedule, " compute")}}}});
  events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1},
                    {"args", {{"name", "communication"}}}});
  for (const TimelineEvent& e : result.timeline) {
    const bool send = !IsCompute(e.type) && e.type != ActionType::kOptimizerStep;
    json args = {{"microbatch", e.microbatch}, {"chunk", e.chunk}};
    if (e.type != ActionType::kOptimizerStep) {
      args["model_stage"] = result.model_stages_of_rank[e.rank][e.chunk];
    }
    if (send) {
      args["to_rank"] = e.peer;
    } else {
      args["weight_version"] = e.weight_version;
      if (IsBackwardPass(e.type)) args["updates_crossed"] = e.updates_crossed;
    }
    events.push_back({{"name", ToString(Action::Make(e.type, e.microbatch, e.chunk))},
                      {"cat", std::string(1, ActionLetter(e.type))},
                      {"ph", "X"},
                      {"pid", send ? 1 : 0},
                      {"tid", e.rank},
                      {"ts", e.start * to_us},
                      {"dur", (e.end - e.start) * to_us},
                      {"args", args}});
  }
  json trace = {{"traceEvents", events},
                {"displayTimeUnit", "ms"},
                {"otherData",
                 {{"schedule", result.schedule},
                  {"params", DescribeParams(result.params)},
                  {"weights", result.weights},
                  {"makespan", result.makespan},
                  {"bubble_fraction", result.bubble_fraction}}}};
  return trace.dump();
}

absl::Status WriteChromeTrace(const SimulationResult& result, const std::string& path,
                              double seconds_per_unit) {
  return WriteTextFile(path, ChromeTrace(result, seconds_per_unit), "trace file");
}

std::string TimelineGrid(const SimulationResult& result, int max_columns) {
  double step = std::numeric_limits<double>::infinity();
  for (const TimelineEvent& e : result.timeline) {
    if (IsCompute(e.type) && e.end > e.start) step = std::min(step, e.end - e.start);
  }
  if (!std::isfinite(step) || result.makespan <= 0) return "(empty timeline)\n";
  const int columns = static_cast<int>(std::ceil(result.makespan / step - 1e-9));
  const int shown = std::min(columns, max_columns);
  const size_t ranks = result.stages.size();
  std::vector<std::vector<std::string>> cells(ranks, std::vector<std::string>(shown, "."));
  for (const TimelineEvent& e : result.timeline) {
    // Sends overlap compute, and zero-cost steps would hide the action after them.
    if ((!IsCompute(e.type) && e.type != ActionType::kOptimizerStep) || e.end <= e.start) continue;
    const int first = static_cast<int>(std::floor(e.start / step + 1e-9));
    const int last = std::max(first + 1, static_cast<int>(std::ceil(e.end / step - 1e-9)));
    const std::string label = ToString(Action::Make(e.type, e.microbatch, e.chunk));
    for (int c = first; c < std::min(last, shown); ++c) cells[e.rank][c] = label;
  }
  size_t width = 1;
  for (const auto& row : cells) {
    for (const std::string& cell : row) width = std::max(width, cell.size());
  }
  std::string grid = absl::StrFormat("%s  (one column = %g time units)\n", result.schedule, step);
  for (size_t rank = 0; rank < ranks; ++rank) {
    absl::StrAppendFormat(&grid, "rank %*d |", ranks > 10 ? 3 : 1, rank);
    for (const std::string& cell : cells[rank]) {
      absl::StrAppend(&grid, " ", cell, std::string(width - cell.size(), ' '));
    }
    absl::StrAppend(&grid, "\n");
  }
  if (shown < columns) {
    absl::StrAppendFormat(&grid, "(cut at %d of %d columns; write --trace for the full timeline)\n",
                          shown, columns);
  }
  return grid;
}

}  // namespace pipebench
