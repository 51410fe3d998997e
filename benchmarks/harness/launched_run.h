// Runs the trainer with one process per stage through //engine/cli:launch and returns rank 0's
// run summary: the one place benchmarks start distributed runs.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/runtime/run_summary.h"
#include "engine/training/run_training.h"

namespace pipebench {

// Every rank runs `train_binary` (a train binary linking the schedules the caller knows) with
// TrainArgs(`config`); the launcher gets `nproc` and a free loopback port. The binary that calls
// this needs //engine/cli:launch as a data dependency. Errors carry the tail of the ranks'
// standard error.
absl::StatusOr<RunSummary> RunLaunched(const std::string& train_binary, int nproc,
                                       const TrainConfig& config);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_
