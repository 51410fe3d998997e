// Runs the trainer with one process per stage through //engine/cli:launch and returns rank 0's
// summary: the one place benchmarks start distributed runs.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// Every rank runs `train_binary` (a train binary linking the schedules the caller knows) with
// `train_flags` (e.g. "--schedule=paci"); the launcher gets `nproc` and a free loopback port.
// The binary that calls this needs //engine/cli:launch as a data dependency. Errors carry the
// ranks' standard error.
absl::StatusOr<nlohmann::json> RunLaunched(const std::string& train_binary, int nproc,
                                           const std::vector<std::string>& train_flags);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_LAUNCHED_RUN_H_
