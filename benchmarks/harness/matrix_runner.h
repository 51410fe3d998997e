// Runs an experiment's cells and keeps their records in <out_dir>/results.jsonl.
//
// Resumable: every record is appended the moment its cell ends, and with `resume` a cell whose key
// already has an "ok" record there is not rerun, so an interrupted run continues where it stopped
// (resume.h decides when). Without `resume` the folder's earlier records are discarded. A failing
// cell is recorded as "failed" with its error and the matrix goes on.
//
// Order and parallelism, for a small machine: cost measurements (model stages and NAS supernets)
// first, one at a time and alone (they time the model); then simulations, in this process; then
// training, executor and NAS cells, `jobs` at a time, each in its own process with one compute
// thread (a crash or a hang stays in that cell); distributed runs last, one at a time in the
// config's order, since each takes one core per stage.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_MATRIX_RUNNER_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_MATRIX_RUNNER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/harness/experiment_config.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct RunnerOptions {
  std::string out_dir;
  int jobs = 1;
  bool resume = false;  // keep the finished records of an earlier run in out_dir
  double cell_timeout_seconds = 3600;
  std::map<std::string, double> slow_down;  // schedule -> factor (see CellInputs)
  // This binary: isolated cells run as `self --run_cell=IN --cell_output=OUT`.
  std::string self;
  // The train binary distributed cells launch (see CellInputs::train_binary).
  std::string train_binary;
  // Stamped on every record this run writes ("git_commit"), so a report assembled over resumed
  // runs still says which code produced each number.
  std::string git_commit;
  std::string host;  // stamped on every record too ("host")
  // Each cell's "data" spec -> the file it reads (ResolveDataPath, or the runner's --data).
  std::map<std::string, std::string> data_paths;
};

struct MatrixOutcome {
  std::vector<nlohmann::json> records;  // one per cell, in the config's order
  int reused = 0;
  int failed = 0;
};

absl::StatusOr<MatrixOutcome> RunMatrix(const ExperimentConfig& config,
                                        const RunnerOptions& options);

// How many of `config`'s cells have an "ok" record in `results_path` (0 when it does not exist).
int CountFinishedCells(const ExperimentConfig& config, const std::string& results_path);

// The child side of an isolated cell: reads the cell and its inputs from `input`, runs it, and
// writes {"result": ...} to `output`.
absl::Status RunIsolatedCell(const std::string& input, const std::string& output);

// "paci:2,gpipe:1.5" -> {paci: 2, gpipe: 1.5}.
absl::StatusOr<std::map<std::string, double>> ParseSlowDown(const std::string& text);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_MATRIX_RUNNER_H_
