// Single-process pipeline executor: trains a model (the GPT, or any StageModel) under any
// schedule, with exactly the weight versions the schedule implies (see stage_worker.h for how
// each version rule is realised).
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
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/optimizer.h"
#include "engine/exec/stage_worker.h"
#include "engine/model/dataset.h"
#include "engine/model/stage_model.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/schedule.h"
#include "engine/sim/cost_model.h"
#include "engine/sim/simulator.h"

namespace pipebench {

struct ExecutorOptions {
  std::shared_ptr<const StageModel> model;  // the GPT (GptModel), or another StageModel
  OptimizerConfig optimizer;
  int micro_batch_size = 8;  // sequences per micro-batch
  std::uint64_t seed = 0;
  int eval_every_batches = 0;  // 0: evaluate only at the end
  // Tokens of the fixed validation subset every evaluation reads: the validation split's first
  // tokens in windows of the model's context (TokenDataset::ValidationWindows), the same for every
  // schedule and seed. More than the split holds is an error naming eval_tokens.
  std::int64_t eval_tokens = 8192;
  // Stop after the first mini-batch that ends at or after this simulated time (the schedule
  // must have enough batches to get there); 0: run every batch.
  double budget_seconds = 0;
  // The cosine learning-rate horizon in mini-batches, used when optimizer.total_steps is 0: each
  // stage decays over that many mini-batches' worth of its own optimizer steps. 0: the schedule's
  // own batches. A time-budget study gives every schedule of a group the same horizon; otherwise
  // the schedule that fits more steps in the budget would also decay its rate later, and its
  // steps-to-target ratio would mix the schedule's effect with a different learning-rate schedule.
  int horizon_batches = 0;
  // Every compute action really takes this many times its own time (RunStageAction): a regression
  // injected on purpose, for showing the CI gate's measured checks can fail. 1: none.
  double slow_down = 1.0;
  // Set: bi-level training, alternating mini-batches between the model's architecture tensors
  // and its weights (architecture search; see ArchitectureTraining). Unset: every tensor trains
  // on every micro-batch of the whole training split.
  std::optional<ArchitectureTraining> architecture;
  // Where every stage computes: the CPU, or a GPU in a CUDA build ("cuda" without an index: the
  // first visible one here; rank % visible in the distributed runtime). Only token ids come from
  // the host; activations, gradients, weights and optimizer state stay on the device.
  torch::Device device = torch::kCPU;
};

// The training sequences of micro-batch `microbatch` (of `microbatches_per_batch` per
// mini-batch): from the whole training split, or in an alternating run from the architecture's
// or the weights' part of it. Every backend reads its micro-batches here.
TokenBatch TrainingMicrobatch(const TokenDataset& data, const ExecutorOptions& options,
                              int microbatch, int microbatches_per_batch);

// One finished mini-batch. For a synchronous schedule: all m micro-batches have run every
// backward pass and every rank has applied the batch's update, so an evaluation sees one coherent
// model (no stage updated for a batch another has not). For an asynchronous schedule: all m
// micro-batches have run every backward pass; the weights are evaluated as they are at that
// moment (some stages may already have stepped for later micro-batches).
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
  std::vector<std::vector<int>> max_drift_per_group;  // per model stage (StageWorker's)
  std::vector<int> max_live_versions;   // per model stage
  double final_validation_loss = 0;
  bool budget_reached = false;  // with budget_seconds: the run got to it
  // Wall-clock from the first action to the last mini-batch, validation and the caller's batch
  // callback excluded.
  double wall_seconds = 0;
  std::vector<std::vector<torch::Tensor>> final_weights;  // per model stage, on the device
  SimulationResult simulation;
};

using BatchCallback = std::function<void(const BatchRecord&)>;

// `partition` has one unit range per model stage (p * v). Errors: invalid model or partition,
// a non-finite loss (naming stage, micro-batch and batch) or gradient (naming stage and step),
// a device this build or machine does not have (FailedPrecondition).
absl::StatusOr<ExecutorResult> RunPipeline(const Schedule& schedule, const CostModel& costs,
                                           const std::vector<UnitRange>& partition,
                                           const TokenDataset& data,
                                           const ExecutorOptions& options,
                                           const BatchCallback& on_batch = nullptr);

// The run summary every backend writes: the `simulated` clock (the replayed timeline, up to the
// last mini-batch the run finished) and the `measured` one (wall-clock, validation excluded),
// drift and live weight versions per model stage as the stage workers counted them.
RunSummary SummarizeExecutorRun(const Schedule& schedule, const ExecutorResult& result);

// OK when `partition` has `model_stages` non-empty ranges that chain over every unit of `model`.
absl::Status ValidatePartition(const StageModel& model, const std::vector<UnitRange>& partition,
                               int model_stages);

// OK without ExecutorOptions::architecture, or when its split is in (0, 1) and the model has
// architecture tensors to alternate with; else InvalidArgument naming the problem.
absl::Status ValidateArchitectureTraining(const ExecutorOptions& options,
                                          const std::vector<UnitRange>& partition);

// OK when the validation split holds `eval_tokens` tokens in windows of `context`; else
// InvalidArgument naming eval_tokens and the split's size.
absl::Status CheckEvalTokens(const TokenDataset& data, int context, std::int64_t eval_tokens);

// Mean per-token validation loss, over the fixed subset of `eval_tokens` tokens (see
// ExecutorOptions::eval_tokens), of a model given by per-stage weights on `device`.
double ValidationLoss(const StageModel& model, const std::vector<UnitRange>& partition,
                      const std::vector<std::vector<torch::Tensor>>& weights,
                      const TokenDataset& data, std::int64_t eval_tokens,
                      const torch::Device& device);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_EXECUTOR_H_
