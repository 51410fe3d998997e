// The typed parameters of each kind of cell. A cell's JSON (Cell::params) stays what identifies
// it across runs and what results.jsonl shows; the cell runner reads it once, here, into these
// structs, and never by string key elsewhere. Errors name the cell kind and the field.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_CELL_PARAMS_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_CELL_PARAMS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/schedule/params.h"
#include "engine/sim/cost_model.h"
#include "engine/training/run_training.h"
#include "nas/entangled/supernet_cost.h"
#include "nas/pipeline/pipeline_search.h"
#include "nas/search/search_and_evaluate.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// Measures a model's per-stage costs.
struct CostsCellParams {
  std::string model;
  std::string data;
  int model_stages = 1;
  int micro_batch_size = 8;
  bool balance_by_time = false;  // "partition": "time"; else blocks spread evenly
  std::string device = "cpu";    // where the stages are timed (the experiment's "device")
};

// Simulates a schedule: on its costs cell's measured costs and the study's link, or on costs
// given inline (a cost file's model, or a pinned file's cut with the study's link).
struct SimulateCellParams {
  std::string schedule;
  std::string variant;
  ScheduleParams schedule_params;
  std::optional<CostModel> inline_costs;
  // With measured or pinned costs: the GPT whose context gives the tokens per micro-batch.
  std::string model;
  int micro_batch_size = 0;
  double link_latency_seconds = 0;
  double link_bandwidth_bytes_per_second = 0;
};

// Trains under a schedule: executor cells (throughput and overhead), training cells (loss
// against simulated time) and distributed cells (one process per stage).
struct ExecutedCellParams {
  std::string variant;
  TrainConfig run;  // run.batches: the cell's "steps"; 0 under a time budget
  double budget_seconds = 0;
  int budget_flush_steps = 0;  // a budget of the time 1F1B-flush takes for this many mini-batches
};

struct NasCellParams {
  std::string space;
  std::string data;
  SearchJob job;
};

// One supernet configuration's step time and memory, in a process of its own.
struct NasCostCellParams {
  std::string space;
  std::string data;  // for the vocabulary
  SupernetCostOptions cost;
};

// The supernet's stage costs for the pipelined searches that share them (search.schedule unset).
struct NasPipelineCostsCellParams {
  std::string space;
  std::string data;
  PipelineSearchOptions search;
  int model_stages = 1;
};

// A search inside one pipeline, timed by its costs cell's stage costs.
struct NasPipelineCellParams {
  std::string space;
  std::string data;
  PipelineSearchJob job;
};

absl::StatusOr<CostsCellParams> CostsCellOf(const nlohmann::json& params);
absl::StatusOr<SimulateCellParams> SimulateCellOf(const nlohmann::json& params);
// `kind` is kExecutorCell, kTrainingCell or kDistributedCell (for the error text).
absl::StatusOr<ExecutedCellParams> ExecutedCellOf(const std::string& kind,
                                                  const nlohmann::json& params);
absl::StatusOr<NasCellParams> NasCellOf(const nlohmann::json& params);
absl::StatusOr<NasCostCellParams> NasCostCellOf(const nlohmann::json& params);
absl::StatusOr<NasPipelineCostsCellParams> NasPipelineCostsCellOf(const nlohmann::json& params);
absl::StatusOr<NasPipelineCellParams> NasPipelineCellOf(const nlohmann::json& params);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_CELL_PARAMS_H_
