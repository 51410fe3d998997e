// Experiment configs: named studies, each a matrix that expands into cells.
//
// A config is JSON (comments allowed) with a strict schema: unknown keys and wrong types are
// errors naming the field, e.g. "studies[1].stages[0]: expected an integer >= 1, got \"4\"".
//
//   {"experiment": "paper", "description": "...", "seeds": [0, 1], "data": "...",
//    "studies": [{"name": "...", "kind": "pipeline" | "training" | "nas", ...}]}
//
// pipeline: models x schedules x stages x micro-batches x backends (sim, executor, distributed),
//   timed by costs measured from each model, or by the study's "costs" (a pinned cost file, a
//   cost file or an inline model: benchmarks/harness/study_costs.h); records throughput, bubble,
//   memory per stage and version drift. "model" is one GPT spec or a list (a model-size axis).
// training: models x schedules x stages x micro-batches x seeds, the GPT trained by the
//   single-process executor; records the validation loss against the time simulated from
//   measured costs.
// nas: optimizers x weight storages x seeds on one search space; records the derived
//   architecture, its retrained loss, search time, supernet size and any-time curves. With
//   "pipelines" ([{"schedule", "stages", "microbatches", "accumulation"}, ...]), the supernet is
//   searched inside each pipeline instead (nas/pipeline), on the simulated clock of its measured
//   stage costs: optimizers x storages x pipelines x seeds.
//
// Any study may carry a "note", printed under its heading in the report.
//
// A schedule entry is a registered name or {"name": ..., "accumulation": [...], "chunks": [...]};
// accumulation entries are integers or "m", "p", "2p", "p/2" (evaluated per cell), so adding a
// schedule to an experiment is one line.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_CONFIG_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// Cell kinds. Costs cells measure a model's per-stage costs; the cells that need them name them.
inline constexpr char kCostsCell[] = "costs";
inline constexpr char kSimulateCell[] = "sim";
inline constexpr char kExecutorCell[] = "executor";
inline constexpr char kDistributedCell[] = "distributed";
inline constexpr char kTrainingCell[] = "training";
inline constexpr char kNasCell[] = "nas";
inline constexpr char kNasCostCell[] = "nas_cost";
// A NAS study with "pipelines": the supernet's stage costs (one per optimizer, storage and model
// stages), and the search inside one pipeline, timed by them.
inline constexpr char kNasPipelineCostsCell[] = "nas_pipeline_costs";
inline constexpr char kNasPipelineCell[] = "nas_pipeline";

struct Cell {
  std::string study;      // the study's name
  std::string kind;       // one of the k*Cell names
  nlohmann::json params;  // everything the result depends on
  // kind (+ study, except for shared costs cells) + params: identifies a finished cell across
  // runs (resuming)
  std::string key;
  std::string costs_key;  // the costs cell this cell's cost model comes from; empty if none
};

struct ExperimentConfig {
  std::string experiment;
  std::string description;
  nlohmann::json source;  // the parsed config, for the manifest
  std::vector<Cell> cells;  // costs cells first, each before the cells that need it
};

// Parses and validates a config and expands its matrix. Schedule names are checked against the
// registry, and every cell's schedule parameters against the schedule itself.
absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& text);

// Reads `path` (relative paths from the repository root) and parses it.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path);

// "m", "p", "2p", "p/2" or an integer, for `stages` p and `microbatches` m.
absl::StatusOr<int> EvaluateAccumulation(const nlohmann::json& spec, int stages, int microbatches);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_CONFIG_H_
