// What a pipeline study's simulated cells are priced with, from its "costs" field:
//   "measured" (the default)  costs cells measure the model on the machine at hand;
//   a cost file's one model   e.g. configs/costs/gpt2_medium_p8_mb8.json (an analytic model);
//   a pinned cost file        configs/costs/char_gpt_*.json: the cut each cell's stages need,
//                             so the study's tables are the same on every machine;
//   an inline cost model      {"stages": [...], ...}.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_STUDY_COSTS_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_STUDY_COSTS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "benchmarks/harness/pinned_costs.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct StudyCosts {
  nlohmann::json model;               // one cost model for every cell; null otherwise
  std::optional<PinnedCosts> pinned;  // a pinned file, cut per cell
  std::string file;                   // the file, as the config names it

  bool measured() const { return model.is_null() && !pinned; }
};

// `field` is the study's "costs" (nullptr when absent); `path` names it in errors.
absl::StatusOr<StudyCosts> ReadStudyCosts(const nlohmann::json* field, const std::string& path);

// The cost model of a simulate cell of `model` (micro-batches of `micro_batch_size`) cut into
// `model_stages` stages, from the pinned file, with `link` ({latency_seconds,
// bandwidth_bytes_per_second}) as its point-to-point costs. An error names the file and what it
// lacks: another model, micro-batch size or partition, or the cut.
absl::StatusOr<nlohmann::json> PinnedCellCosts(const StudyCosts& costs, const std::string& path,
                                               const std::string& model, int micro_batch_size,
                                               int model_stages, const nlohmann::json& link);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_STUDY_COSTS_H_
