#include "benchmarks/harness/cost_pinning.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/exec/cost_measurement.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "engine/platform/blas_info.h"
#include "engine/platform/device.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

double ComputeSeconds(const CostModel& costs) {
  double total = 0;
  for (const StageCost& stage : costs.stages) total += stage.forward + stage.backward();
  return total;
}

// Per stage and time field, the median over `repeats`; bytes come from the first (they do not
// depend on timing).
PinnedCut Summarize(int model_stages, const std::vector<CostModel>& repeats) {
  PinnedCut cut;
  cut.model_stages = model_stages;
  cut.costs = repeats.front();
  for (size_t s = 0; s < cut.costs.stages.size(); ++s) {
    for (double StageCost::*field : {&StageCost::forward, &StageCost::backward_input,
                                     &StageCost::backward_weight, &StageCost::optimizer_step}) {
      std::vector<double> values;
      for (const CostModel& repeat : repeats) values.push_back(repeat.stages[s].*field);
      cut.costs.stages[s].*field = Median(values);
    }
  }
  std::vector<double> totals;
  for (const CostModel& repeat : repeats) totals.push_back(ComputeSeconds(repeat));
  cut.compute_seconds = Median(totals);
  const auto [low, high] = std::minmax_element(totals.begin(), totals.end());
  cut.spread = cut.compute_seconds > 0 ? (*high - *low) / cut.compute_seconds : 0;
  return cut;
}

}  // namespace

absl::StatusOr<PinnedCosts> MeasurePinnedCosts(const PinRequest& request) {
  if (request.threads < 1) return absl::InvalidArgumentError("threads must be at least 1");
  if (request.repeats < 1) return absl::InvalidArgumentError("repeats must be at least 1");
  if (request.partition != "layers" && request.partition != "time") {
    return absl::InvalidArgumentError(
        absl::StrCat("partition must be \"layers\" or \"time\", got \"", request.partition, "\""));
  }
  std::set<int> cuts = {1};
  for (int cut : request.cuts) {
    if (cut < 1) return absl::InvalidArgumentError(absl::StrCat("cut ", cut, " is not >= 1"));
    cuts.insert(cut);
  }
  PB_RETURN_IF_ERROR(CheckFastBlas(DetectBlas()));
  SetComputeThreads(request.threads);
  PB_ASSIGN_OR_RETURN(TokenDataset data, LoadTokenData(request.data));
  PB_ASSIGN_OR_RETURN(GptConfig gpt, ParseGptConfig(request.model, data.vocab_size()));
  const GptModel model(std::move(gpt));
  MeasurementOptions options;
  options.micro_batch_size = request.micro_batch_size;
  options.repeats = kHarnessMeasurementRepeats;
  PB_ASSIGN_OR_RETURN(options.device, ParseDevice(request.device));
  std::vector<std::vector<UnitRange>> partitions;
  for (int cut : cuts) {
    absl::StatusOr<std::vector<UnitRange>> partition =
        request.partition == "time" ? PartitionByMeasuredTime(model, cut, options)
                                    : PartitionByLayers(model, cut);
    if (!partition.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cut ", cut, ": ", partition.status().message()));
    }
    partitions.push_back(*std::move(partition));
  }
  // Repeat-major, so a slow spell of the machine reaches every cut alike.
  std::vector<std::vector<CostModel>> measured(partitions.size());
  for (int repeat = 0; repeat < request.repeats; ++repeat) {
    for (size_t c = 0; c < partitions.size(); ++c) {
      PB_ASSIGN_OR_RETURN(CostModel costs, MeasureStageCosts(model, partitions[c], options));
      measured[c].push_back(std::move(costs));
    }
  }
  PinnedCosts pinned;
  pinned.description = request.description;
  pinned.model = request.model;
  pinned.micro_batch_size = request.micro_batch_size;
  pinned.partition = request.partition;
  pinned.repeats = request.repeats;
  size_t c = 0;
  for (int cut : cuts) pinned.cuts.push_back(Summarize(cut, measured[c++]));
  return pinned;
}

}  // namespace pipebench
