#include "engine/exec/executor.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/exec/stage_worker.h"
#include "engine/util/status_macros.h"

namespace pipebench {

absl::Status ValidatePartition(const GptConfig& model, const std::vector<UnitRange>& partition,
                               int model_stages) {
  if (static_cast<int>(partition.size()) != model_stages) {
    return absl::InvalidArgumentError(absl::StrCat("partition has ", partition.size(),
                                                   " stages, the schedule has ", model_stages,
                                                   " model stages"));
  }
  for (int g = 0; g < model_stages; ++g) {
    const UnitRange& r = partition[g];
    const bool chained = g == 0 ? r.begin == 0 : r.begin == partition[g - 1].end;
    if (r.size() < 1 || !chained || (g == model_stages - 1 && r.end != model.units())) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition stage ", g, " [", r.begin, ", ", r.end,
                       ") does not continue a contiguous cover of the model's ", model.units(),
                       " units"));
    }
  }
  return absl::OkStatus();
}

namespace {

class Executor {
 public:
  Executor(const Schedule& schedule, const std::vector<UnitRange>& partition,
           const TokenDataset& data, const ExecutorOptions& options)
      : schedule_(schedule),
        partition_(partition),
        data_(data),
        options_(options),
        stages_(schedule.params().model_stages()),
        m_(schedule.params().microbatches) {}

  absl::StatusOr<ExecutorResult> Run(const CostModel& costs, const BatchCallback& on_batch);

 private:
  absl::Status Execute(const TimelineEvent& event, const BatchCallback& on_batch);
  void FinishBackwardPass(int mb, double end, const BatchCallback& on_batch);
  TokenBatch Batch(int mb) const {
    return data_.TrainBatch(options_.micro_batch_size, options_.model.context, options_.seed, mb);
  }
  std::vector<std::vector<torch::Tensor>> CurrentWeights() const {
    std::vector<std::vector<torch::Tensor>> weights;
    for (const auto& worker : workers_) weights.push_back(worker->weights());
    return weights;
  }

  const Schedule& schedule_;
  const std::vector<UnitRange>& partition_;
  const TokenDataset& data_;
  const ExecutorOptions& options_;
  const int stages_;
  const int m_;
  std::vector<std::unique_ptr<StageWorker>> workers_;
  // Tensors on their way to a stage: activations[g][mb] from g-1, gradients[g][mb] from g+1.
  std::vector<std::unordered_map<int, torch::Tensor>> activations_;
  std::vector<std::unordered_map<int, torch::Tensor>> gradients_;
  std::vector<int> stages_done_;        // per micro-batch: stages whose backward has fully run
  std::vector<int> microbatches_done_;  // per batch
  ExecutorResult result_;
};

absl::Status Executor::Execute(const TimelineEvent& e, const BatchCallback& on_batch) {
  const int g = schedule_.StageOf(e.rank, e.chunk);
  const int mb = e.microbatch;
  switch (e.type) {
    case ActionType::kForward: {
      torch::Tensor input, targets;
      if (g == 0 || g == stages_ - 1) {
        TokenBatch batch = Batch(mb);
        input = batch.inputs;
        targets = batch.targets;
      }
      if (g > 0) {
        input = std::move(activations_[g].at(mb));
        activations_[g].erase(mb);
      }
      PB_ASSIGN_OR_RETURN(ForwardResult forward, workers_[g]->Forward(mb, input, targets));
      result_.microbatches[mb].forward_version[g] = forward.weight_version;
      if (g == stages_ - 1) result_.microbatches[mb].loss = forward.loss;
      if (g + 1 < stages_) activations_[g + 1][mb] = std::move(forward.activation);
      return absl::OkStatus();
    }
    case ActionType::kBackward:
    case ActionType::kBackwardInput: {
      torch::Tensor grad_output;
      if (g + 1 < stages_) {
        grad_output = std::move(gradients_[g].at(mb));
        gradients_[g].erase(mb);
      }
      const bool input_only = e.type == ActionType::kBackwardInput;
      BackwardResult backward = workers_[g]->Backward(mb, grad_output, input_only);
      result_.microbatches[mb].backward_version[g] = backward.weight_version;
      result_.microbatches[mb].updates_crossed[g] = backward.updates_crossed;
      if (g > 0) gradients_[g - 1][mb] = std::move(backward.input_gradient);
      if (!input_only) FinishBackwardPass(mb, e.end, on_batch);
      return absl::OkStatus();
    }
    case ActionType::kBackwardWeight:
      workers_[g]->WeightGradient(mb);
      FinishBackwardPass(mb, e.end, on_batch);
      return absl::OkStatus();
    case ActionType::kOptimizerStep:
      for (int chunk = 0; chunk < schedule_.params().chunks; ++chunk) {
        PB_RETURN_IF_ERROR(workers_[schedule_.StageOf(e.rank, chunk)]->OptimizerStep());
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();  // sends: one process hands tensors over directly
  }
}

void Executor::FinishBackwardPass(int mb, double end, const BatchCallback& on_batch) {
  if (++stages_done_[mb] < stages_) return;
  result_.microbatches[mb].finish_time = end;
  const int batch = mb / m_;
  if (++microbatches_done_[batch] < m_) return;
  BatchRecord record;
  record.batch = batch;
  for (int i = 0; i < m_; ++i) record.train_loss += result_.microbatches[batch * m_ + i].loss / m_;
  record.simulated_time = end;
  record.tokens = static_cast<std::int64_t>(batch + 1) * m_ * options_.micro_batch_size *
                  options_.model.context;
  const int every = options_.eval_every_batches;
  if (every > 0 && (batch + 1) % every == 0) {
    record.validation_loss =
        ValidationLoss(options_.model, partition_, CurrentWeights(), data_,
                       options_.micro_batch_size, options_.eval_batches, options_.seed);
  }
  result_.batches.push_back(record);
  if (on_batch) on_batch(record);
}

absl::StatusOr<ExecutorResult> Executor::Run(const CostModel& costs,
                                             const BatchCallback& on_batch) {
  PB_RETURN_IF_ERROR(options_.model.Validate());
  PB_RETURN_IF_ERROR(ValidatePartition(options_.model, partition_, stages_));
  if (options_.micro_batch_size < 1) {
    return absl::InvalidArgumentError("micro_batch_size must be >= 1");
  }
  if (options_.model.vocab_size < data_.vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("model vocab_size ", options_.model.vocab_size,
                                                   " is smaller than the data's ",
                                                   data_.vocab_size()));
  }
  PB_ASSIGN_OR_RETURN(result_.simulation, Simulate(schedule_, costs, {.record_timeline = true}));

  const int total = schedule_.params().total_microbatches();
  for (int g = 0; g < stages_; ++g) {
    const int rank = schedule_.RankOfStage(g);
    workers_.push_back(std::make_unique<StageWorker>(WorkerOptionsFor(
        schedule_, g, partition_, options_.model, options_.optimizer, options_.seed,
        result_.simulation.stages[rank].optimizer_steps)));
  }
  activations_.resize(stages_);
  gradients_.resize(stages_);
  result_.microbatches.assign(total, MicrobatchRecord{0, 0, std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0)});
  stages_done_.assign(total, 0);
  microbatches_done_.assign(schedule_.params().batches, 0);
  for (const TimelineEvent& event : result_.simulation.timeline) {
    PB_RETURN_IF_ERROR(Execute(event, on_batch));
  }
  for (const auto& worker : workers_) {
    result_.max_drift.push_back(worker->max_drift());
    result_.max_live_versions.push_back(worker->max_live_versions());
  }
  result_.final_weights = CurrentWeights();
  result_.final_validation_loss =
      ValidationLoss(options_.model, partition_, result_.final_weights, data_,
                     options_.micro_batch_size, options_.eval_batches, options_.seed);
  return std::move(result_);
}

}  // namespace

double ValidationLoss(const GptConfig& model, const std::vector<UnitRange>& partition,
                      const std::vector<std::vector<torch::Tensor>>& weights,
                      const TokenDataset& data, int micro_batch_size, int batches,
                      std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    const TokenBatch batch = data.ValidationBatch(micro_batch_size, model.context, seed, i);
    torch::Tensor x = batch.inputs;
    for (size_t g = 0; g < partition.size(); ++g) {
      x = ForwardUnits(model, partition[g], weights[g], x);
    }
    total += LanguageModelLoss(x, batch.targets).item<double>();
  }
  return total / std::max(1, batches);
}

absl::StatusOr<ExecutorResult> RunPipeline(const Schedule& schedule, const CostModel& costs,
                                           const std::vector<UnitRange>& partition,
                                           const TokenDataset& data,
                                           const ExecutorOptions& options,
                                           const BatchCallback& on_batch) {
  Executor executor(schedule, partition, data, options);
  return executor.Run(costs, on_batch);
}

}  // namespace pipebench
