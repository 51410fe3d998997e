// Splitting the GPT's units into pipeline stages. Every stage gets at least one transformer block;
// stage 0 also holds the embedding and the last stage the head.
#ifndef PIPEBENCH_ENGINE_MODEL_PARTITION_H_
#define PIPEBENCH_ENGINE_MODEL_PARTITION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/gpt.h"

namespace pipebench {

// Blocks spread as evenly as possible, earlier stages taking the remainder.
absl::StatusOr<std::vector<UnitRange>> PartitionByLayers(const GptConfig& config, int stages);

// Contiguous split that minimises the slowest stage, given one measured cost per unit
// (config.units() entries).
absl::StatusOr<std::vector<UnitRange>> PartitionByCost(const GptConfig& config,
                                                       const std::vector<double>& unit_costs,
                                                       int stages);

// An explicit split: blocks_per_stage[s] blocks on stage s.
absl::StatusOr<std::vector<UnitRange>> PartitionFromBlockCounts(
    const GptConfig& config, const std::vector<int>& blocks_per_stage);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_PARTITION_H_
