// Measures a pinned cost file's content (benchmarks/harness/pinned_costs.h): one model's
// per-stage costs for several cuts into stages, each measured `repeats` times in turn with the
// others, with each cut's whole-model compute and its spread over the repeats.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_COST_PINNING_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_COST_PINNING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/harness/pinned_costs.h"

namespace pipebench {

struct PinRequest {
  std::string model;                     // a GPT spec ("layers=16,embed=64,...")
  std::string data = "tinyshakespeare";  // for the vocabulary
  int micro_batch_size = 8;
  std::vector<int> cuts;             // stage counts; the whole model (1) is always measured too
  std::string partition = "layers";  // or "time" (balanced by measured unit costs)
  int repeats = 5;
  std::string device = "cpu";
  // Compute threads while measuring: one, as every harness cell runs (one core each).
  int threads = 1;
  std::string description;
};

// Everything but `made_by`, which the caller fills with its provenance.
absl::StatusOr<PinnedCosts> MeasurePinnedCosts(const PinRequest& request);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_COST_PINNING_H_
