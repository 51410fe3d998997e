#include "engine/model/partition.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

absl::Status CheckStages(const StageModel& model, int stages) {
  if (stages < 1) return absl::InvalidArgumentError(absl::StrCat("stages must be >= 1, got ", stages));
  if (stages > model.layers()) {
    return absl::InvalidArgumentError(absl::StrCat("stages (", stages, ") > layers (",
                                                   model.layers(),
                                                   "): some stage would hold no layer"));
  }
  return model.CheckStages(stages);
}

}  // namespace

absl::StatusOr<std::vector<UnitRange>> PartitionFromBlockCounts(
    const StageModel& model, const std::vector<int>& blocks_per_stage) {
  if (absl::Status s = CheckStages(model, static_cast<int>(blocks_per_stage.size())); !s.ok()) {
    return s;
  }
  int total = 0;
  for (size_t s = 0; s < blocks_per_stage.size(); ++s) {
    if (blocks_per_stage[s] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition leaves stage ", s, " without layers"));
    }
    total += blocks_per_stage[s];
  }
  if (total != model.layers()) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition covers ", total, " layers, the model has ", model.layers()));
  }
  std::vector<UnitRange> ranges;
  int next_block = 1;
  for (size_t s = 0; s < blocks_per_stage.size(); ++s) {
    UnitRange range{s == 0 ? 0 : next_block, next_block + blocks_per_stage[s]};
    next_block = range.end;
    if (s + 1 == blocks_per_stage.size()) range.end = model.units();
    ranges.push_back(range);
  }
  return ranges;
}

absl::StatusOr<std::vector<UnitRange>> PartitionByLayers(const StageModel& model, int stages) {
  if (absl::Status s = CheckStages(model, stages); !s.ok()) return s;
  std::vector<int> counts(stages, model.layers() / stages);
  for (int s = 0; s < model.layers() % stages; ++s) ++counts[s];
  return PartitionFromBlockCounts(model, counts);
}

absl::StatusOr<std::vector<UnitRange>> PartitionByCost(const StageModel& model,
                                                       const std::vector<double>& unit_costs,
                                                       int stages) {
  if (absl::Status s = CheckStages(model, stages); !s.ok()) return s;
  if (static_cast<int>(unit_costs.size()) != model.units()) {
    return absl::InvalidArgumentError(absl::StrCat("need ", model.units(), " unit costs, got ",
                                                   unit_costs.size()));
  }
  const int layers = model.layers();
  // Cost of blocks [first, last] (1-based) plus the embedding or head when the stage holds them.
  std::vector<double> prefix(layers + 1, 0.0);
  for (int b = 1; b <= layers; ++b) prefix[b] = prefix[b - 1] + unit_costs[b];
  auto stage_cost = [&](int first, int last) {
    double cost = prefix[last] - prefix[first - 1];
    if (first == 1) cost += unit_costs[0];
    if (last == layers) cost += unit_costs[layers + 1];
    return cost;
  };
  // best[s][b]: smallest possible slowest stage when stages 0..s-1 cover blocks 1..b.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(layers + 1, inf));
  std::vector<std::vector<int>> cut(stages + 1, std::vector<int>(layers + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= stages; ++s) {
    for (int b = s; b <= layers; ++b) {
      for (int previous = s - 1; previous < b; ++previous) {
        const double cost = std::max(best[s - 1][previous], stage_cost(previous + 1, b));
        if (cost < best[s][b]) {
          best[s][b] = cost;
          cut[s][b] = previous;
        }
      }
    }
  }
  std::vector<int> counts(stages);
  for (int s = stages, b = layers; s > 0; --s) {
    counts[s - 1] = b - cut[s][b];
    b = cut[s][b];
  }
  return PartitionFromBlockCounts(model, counts);
}

}  // namespace pipebench
