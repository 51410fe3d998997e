// Single-process pipeline executor: trains the GPT under any schedule, with exactly the weight
// versions the schedule implies (see stage_worker.h for how each version rule is realised).
//
// The schedule is first simulated on the cost model; the executor then replays every compute and
// optimizer action in the simulated timeline's order, handing activations and gradients between
// the stages' workers directly. A run is therefore deterministic for a given seed and cost model,
// and its simulated clock gives time-to-accuracy from measured costs.
#ifndef PIPEBENCH_ENGINE_EXEC_EXECUTOR_H_
#define PIPEBENCH_ENGINE_EXEC_EXECUTOR_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/optimizer.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"
#include "engine/schedule/schedule.h"
#include "engine/sim/cost_model.h"
#include "engine/sim/simulator.h"

namespace pipebench {

struct ExecutorOptions {
  GptConfig model;
  OptimizerConfig optimizer;
  int micro_batch_size = 8;  // sequences per micro-batch
  std::uint64_t seed = 0;
  int eval_every_batches = 0;  // 0: evaluate only at the end
  int eval_batches = 4;
};

// One finished mini-batch: all m micro-batches have run every backward pass.
struct BatchRecord {
  int batch = 0;
  double train_loss = 0;  // mean over the batch's micro-batches
  double simulated_time = 0;
  std::int64_t tokens = 0;  // trained so far
  std::optional<double> validation_loss;
};

struct MicrobatchRecord {
  double loss = 0;
  double finish_time = 0;  // simulated end of its last backward pass
  // Per model stage: version its forward and its backward ran on, and updates crossed between.
  std::vector<int> forward_version;
  std::vector<int> backward_version;
  std::vector<int> updates_crossed;
};

struct ExecutorResult {
  std::vector<BatchRecord> batches;
  std::vector<MicrobatchRecord> microbatches;
  std::vector<int> max_drift;           // per model stage
  std::vector<int> max_live_versions;   // per model stage
  double final_validation_loss = 0;
  std::vector<std::vector<torch::Tensor>> final_weights;  // per model stage
  SimulationResult simulation;
};

using BatchCallback = std::function<void(const BatchRecord&)>;

// `partition` has one unit range per model stage (p * v). Errors: invalid model or partition,
// a non-finite loss (naming stage, micro-batch and batch) or gradient (naming stage and step).
absl::StatusOr<ExecutorResult> RunPipeline(const Schedule& schedule, const CostModel& costs,
                                           const std::vector<UnitRange>& partition,
                                           const TokenDataset& data,
                                           const ExecutorOptions& options,
                                           const BatchCallback& on_batch = nullptr);

// OK when `partition` has `model_stages` non-empty ranges that chain over every unit of `model`.
absl::Status ValidatePartition(const GptConfig& model, const std::vector<UnitRange>& partition,
                               int model_stages);

// Mean validation loss of a model given by per-stage weights.
double ValidationLoss(const GptConfig& model, const std::vector<UnitRange>& partition,
                      const std::vector<std::vector<torch::Tensor>>& weights,
                      const TokenDataset& data, int micro_batch_size, int batches,
                      std::uint64_t seed);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_EXECUTOR_H_
