// Runs an experiment's cells and keeps their records in <out_dir>/results.jsonl.
//
// Resumable: a cell whose key already has an "ok" record there is not rerun, and every record is
// appended the moment its cell ends, so an interrupted run continues where it stopped. A failing
// cell is recorded as "failed" with its error and the matrix goes on.
//
// Order and parallelism, for a small machine: cost measurements first, one at a time and alone
// (they time the model); then simulations, in this process; then training, executor and NAS
// cells, `jobs` at a time, each in its own process with one compute thread (a crash or a hang
// stays in that cell); distributed runs last, one at a time, since each takes one core per stage.
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
  bool fresh = false;  // ignore the records of an earlier run
  double cell_timeout_seconds = 3600;
  std::map<std::string, double> slow_down;  // schedule -> factor (see CellInputs)
  // This binary: isolated cells run as `self --run_cell=IN --cell_output=OUT`.
  std::string self;
  // Stamped on every record this run writes ("git_commit"), so a report assembled over resumed
  // runs still says which code produced each number.
  std::string git_commit;
};

struct MatrixOutcome {
  std::vector<nlohmann::json> records;  // one per cell, in the config's order
  int reused = 0;
  int failed = 0;
};

absl::StatusOr<MatrixOutcome> RunMatrix(const ExperimentConfig& config,
                                        const RunnerOptions& options);

// The child side of an isolated cell: reads the cell and its inputs from `input`, runs it, and
// writes {"result": ...} to `output`.
absl::Status RunIsolatedCell(const std::string& input, const std::string& output);

// "paci:2,gpipe:1.5" -> {paci: 2, gpipe: 1.5}.
absl::StatusOr<std::map<std::string, double>> ParseSlowDown(const std::string& text);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_MATRIX_RUNNER_H_
