// Splitting a model's units into pipeline stages. Every stage gets at least one layer; stage 0
// also holds the first unit (the embedding) and the last stage the last (the head). Errors: fewer
// than one stage, more stages than layers, or what the model's own CheckStages refuses.
#ifndef PIPEBENCH_ENGINE_MODEL_PARTITION_H_
#define PIPEBENCH_ENGINE_MODEL_PARTITION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/stage_model.h"

namespace pipebench {

// Blocks spread as evenly as possible, earlier stages taking the remainder.
absl::StatusOr<std::vector<UnitRange>> PartitionByLayers(const StageModel& model, int stages);

// Contiguous split that minimises the slowest stage, given one measured cost per unit
// (model.units() entries).
absl::StatusOr<std::vector<UnitRange>> PartitionByCost(const StageModel& model,
                                                       const std::vector<double>& unit_costs,
                                                       int stages);

// An explicit split: blocks_per_stage[s] blocks on stage s.
absl::StatusOr<std::vector<UnitRange>> PartitionFromBlockCounts(
    const StageModel& model, const std::vector<int>& blocks_per_stage);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_PARTITION_H_
