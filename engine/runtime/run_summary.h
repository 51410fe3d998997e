// One result schema for every way a schedule runs: the simulator, the single-process executor and
// the distributed runtime each end a run with a RunSummary, and simulate, train, launch and the
// harness write it with the one serializer below, so a metric has one name everywhere.
//
// Two clocks, never mixed under one name: `simulated` holds what the cost model's clock says
// (the simulator, and the executor, which replays the simulated timeline), `measured` what real
// time and memory say (the executor's wall-clock, the distributed ranks' timings and RSS). A
// backend fills the blocks it has. Drift and its bound are per model stage (a rank of an
// interleaved schedule holds several); bubble and memory are per rank.
//
// The JSON carries `schema_version`; readers (benchmarks/report/make_report.py) refuse any other
// version with a message to rerun, instead of reading a renamed field as missing.
#ifndef PIPEBENCH_ENGINE_RUNTIME_RUN_SUMMARY_H_
#define PIPEBENCH_ENGINE_RUNTIME_RUN_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/schedule/params.h"
#include "nlohmann/json.hpp"

namespace pipebench {

inline constexpr int kRunSummarySchemaVersion = 1;

// Throughput on one clock.
struct ClockSummary {
  double seconds = 0;  // the run's length on this clock
  double microbatches_per_second = 0;
  std::optional<double> tokens_per_second;  // when the run knows its tokens per micro-batch
  std::optional<double> bubble_fraction;    // idle share of rank-time, when measured per rank
};

struct RankSummary {
  int rank = 0;
  // Simulated clock and the cost model's memory model.
  std::optional<double> simulated_bubble_fraction;
  std::optional<std::int64_t> simulated_peak_memory_bytes;
  // From its first compute action's start to its last one's end (the zero-bubble paper's cost).
  std::optional<double> simulated_span_seconds;
  // Real timings and the process's peak resident set (distributed ranks).
  std::optional<double> measured_bubble_fraction;
  std::optional<std::int64_t> measured_peak_rss_bytes;
  // Median real duration of each kind of action ("forward", "backward", "backward_input",
  // "backward_weight", "optimizer_step"): the stage costs as the run saw them.
  std::map<std::string, double> measured_median_action_seconds;
};

struct ModelStageSummary {
  int model_stage = 0;
  int rank = 0;
  int max_drift = 0;    // most optimizer updates any backward crossed since its forward
  int drift_bound = 0;  // the schedule's promise; -1 when it makes none
  int max_live_weight_versions = 1;
  // [k] = backward passes that crossed k updates; empty where the backend does not count them.
  std::vector<std::int64_t> drift_histogram;
  // Bi-level runs (architecture search): max_drift split by the kind of update crossed - the
  // weights' and the architecture parameters' (each counts only its own kind's updates).
  std::optional<int> max_weight_drift;
  std::optional<int> max_architecture_drift;
};

struct RunSummary {
  std::string backend;  // "simulator", "executor" or "distributed"
  std::string schedule;
  ScheduleParams params;
  std::string weights;  // the schedule's weight policy at stage 0, described
  bool synchronous = true;
  std::int64_t microbatches = 0;  // micro-batches trained (a budget may stop a run early)
  std::optional<std::int64_t> tokens;
  std::optional<ClockSummary> simulated;
  std::optional<ClockSummary> measured;
  int max_drift = 0;
  std::vector<RankSummary> ranks;
  std::vector<ModelStageSummary> model_stages;
  std::vector<double> train_losses;      // per mini-batch, training runs only
  std::optional<double> final_val_loss;  // runs that evaluate
};

// Sets the per-kind drift from a stage worker's max_drift_per_group: two groups (weights,
// architecture) in a bi-level run; one (a plain run) leaves both unset.
void SetDriftPerKind(ModelStageSummary& stage, const std::vector<int>& max_drift_per_group);

// Counts one backward pass that crossed `updates` optimizer updates in `stage`'s drift histogram.
void CountInDriftHistogram(ModelStageSummary& stage, int updates);

// Fills microbatches_per_second and tokens_per_second of `clock` from its seconds.
ClockSummary OnClock(double seconds, std::int64_t microbatches,
                     std::optional<std::int64_t> tokens);

nlohmann::json RunSummaryToJson(const RunSummary& summary);
// Errors name the missing or mistyped field, and a schema version other than this build's.
absl::StatusOr<RunSummary> RunSummaryFromJson(const nlohmann::json& json);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_RUNTIME_RUN_SUMMARY_H_
