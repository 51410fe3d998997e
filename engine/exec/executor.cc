#include "engine/exec/executor.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/exec/stage_action.h"
#include "engine/exec/stage_worker.h"
#include "engine/model/gpt.h"
#include "engine/platform/device.h"
#include "engine/util/status_macros.h"

namespace pipebench {

absl::Status ValidatePartition(const StageModel& model, const std::vector<UnitRange>& partition,
                               int model_stages) {
  if (static_cast<int>(partition.size()) != model_stages) {
    return absl::InvalidArgumentError(absl::StrCat("partition has ", partition.size(),
                                                   " stages, the schedule has ", model_stages,
                                                   " model stages"));
  }
  PB_RETURN_IF_ERROR(model.CheckStages(model_stages));
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

using Clock = std::chrono::steady_clock;

// One process: a stage's output waits in a map until the next stage takes it.
class InProcessRoute : public TensorRoute {
 public:
  absl::StatusOr<torch::Tensor> TakeActivation(int stage, int mb) override {
    return Take(activations_, stage, mb, "activation");
  }
  absl::StatusOr<torch::Tensor> TakeGradient(int stage, int mb) override {
    return Take(gradients_, stage, mb, "gradient");
  }
  absl::Status SendActivation(int to_stage, int mb, torch::Tensor activation) override {
    activations_[{to_stage, mb}] = std::move(activation);
    return absl::OkStatus();
  }
  absl::Status SendGradient(int to_stage, int mb, torch::Tensor gradient) override {
    gradients_[{to_stage, mb}] = std::move(gradient);
    return absl::OkStatus();
  }

 private:
  using Box = std::map<std::pair<int, int>, torch::Tensor>;
  // The driver runs actions causally, so a missing tensor is a bug in this program, reported as
  // one rather than thrown.
  static absl::StatusOr<torch::Tensor> Take(Box& box, int stage, int mb, const char* what) {
    auto it = box.find({stage, mb});
    if (it == box.end()) {
      return absl::InternalError(absl::StrCat("stage ", stage, " needs the ", what,
                                              " of micro-batch ", mb, " before it was sent"));
    }
    torch::Tensor tensor = std::move(it->second);
    box.erase(it);
    return tensor;
  }
  Box activations_;
  Box gradients_;
};

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
  // Emits every batch that has become complete (see BatchRecord), in order.
  void EmitFinishedBatches(const BatchCallback& on_batch);
  TokenBatch Batch(int mb) const {
    return TrainingMicrobatch(data_, options_, mb, schedule_.params().microbatches);
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
  torch::Device device_ = torch::kCPU;  // options_.device, resolved
  std::vector<std::unique_ptr<StageWorker>> workers_;
  InProcessRoute route_;
  std::vector<int> stages_done_;        // per micro-batch: stages whose backward has fully run
  std::vector<int> microbatches_done_;  // per batch
  std::vector<int> rank_steps_;         // optimizer steps each rank has taken
  std::vector<double> batch_end_;       // per batch: latest simulated end of its work so far
  int next_batch_ = 0;                  // the first batch not yet emitted
  bool budget_reached_ = false;
  Clock::time_point replay_start_;
  double excluded_seconds_ = 0;  // in validation and the caller's callback since replay_start_
  ExecutorResult result_;
};

absl::Status Executor::Execute(const TimelineEvent& e, const BatchCallback& on_batch) {
  if (e.type == ActionType::kOptimizerStep) {
    for (int chunk = 0; chunk < schedule_.params().chunks; ++chunk) {
      PB_RETURN_IF_ERROR(workers_[schedule_.StageOf(e.rank, chunk)]->OptimizerStep());
    }
    // A synchronous schedule's k-th step on a rank is batch k's update.
    const int batch = rank_steps_[e.rank]++;
    if (schedule_.synchronous() && batch < static_cast<int>(batch_end_.size())) {
      batch_end_[batch] = std::max(batch_end_[batch], e.end);
      EmitFinishedBatches(on_batch);
    }
    return absl::OkStatus();
  }
  if (!IsCompute(e.type)) return absl::OkStatus();  // sends: the route hands tensors over
  const int g = schedule_.StageOf(e.rank, e.chunk);
  const int mb = e.microbatch;
  PB_ASSIGN_OR_RETURN(
      const StageActionOutcome outcome,
      RunStageAction(Action::Make(e.type, mb, e.chunk), g, stages_, *workers_[g],
                     [this](int microbatch) { return Batch(microbatch); }, route_,
                     options_.slow_down));
  MicrobatchRecord& record = result_.microbatches[mb];
  if (e.type == ActionType::kForward) {
    record.forward_version[g] = outcome.weight_version;
    if (outcome.loss) record.loss = *outcome.loss;
  } else if (IsBackwardPass(e.type)) {
    record.backward_version[g] = outcome.weight_version;
    record.updates_crossed[g] = outcome.updates_crossed;
  }
  if (outcome.backward_finished) FinishBackwardPass(mb, e.end, on_batch);
  return absl::OkStatus();
}

void Executor::FinishBackwardPass(int mb, double end, const BatchCallback& on_batch) {
  if (++stages_done_[mb] < stages_) return;
  result_.microbatches[mb].finish_time = end;
  const int batch = mb / m_;
  batch_end_[batch] = std::max(batch_end_[batch], end);
  ++microbatches_done_[batch];
  EmitFinishedBatches(on_batch);
}

void Executor::EmitFinishedBatches(const BatchCallback& on_batch) {
  const int batches = static_cast<int>(microbatches_done_.size());
  while (next_batch_ < batches && !budget_reached_ && microbatches_done_[next_batch_] == m_) {
    const int batch = next_batch_;
    if (schedule_.synchronous() &&
        *std::min_element(rank_steps_.begin(), rank_steps_.end()) <= batch) {
      return;  // some rank has not applied this batch's update yet
    }
    ++next_batch_;
    BatchRecord record;
    record.batch = batch;
    for (int i = 0; i < m_; ++i) {
      record.train_loss += result_.microbatches[batch * m_ + i].loss / m_;
    }
    record.simulated_time = batch_end_[batch];
    record.tokens = static_cast<std::int64_t>(batch + 1) * m_ * options_.micro_batch_size *
                    options_.model->context();
    const int every = options_.eval_every_batches;
    if (every > 0 && (batch + 1) % every == 0) {
      const Clock::time_point eval_start = Clock::now();
      record.validation_loss = ValidationLoss(*options_.model, partition_, CurrentWeights(), data_,
                                              options_.eval_tokens, device_);
      excluded_seconds_ += std::chrono::duration<double>(Clock::now() - eval_start).count();
    }
    result_.wall_seconds = std::chrono::duration<double>(Clock::now() - replay_start_).count() -
                           excluded_seconds_;
    budget_reached_ =
        options_.budget_seconds > 0 && record.simulated_time >= options_.budget_seconds;
    result_.batches.push_back(record);
    if (on_batch) {
      const Clock::time_point callback_start = Clock::now();
      on_batch(record);
      excluded_seconds_ +=
          std::chrono::duration<double>(Clock::now() - callback_start).count();
    }
  }
}

absl::StatusOr<ExecutorResult> Executor::Run(const CostModel& costs,
                                             const BatchCallback& on_batch) {
  if (options_.model == nullptr) return absl::InvalidArgumentError("no model to train");
  PB_RETURN_IF_ERROR(ValidatePartition(*options_.model, partition_, stages_));
  PB_RETURN_IF_ERROR(ValidateArchitectureTraining(options_, partition_));
  if (options_.micro_batch_size < 1) {
    return absl::InvalidArgumentError("micro_batch_size must be >= 1");
  }
  if (options_.horizon_batches < 0) {
    return absl::InvalidArgumentError("horizon_batches must be >= 0 (0: the run's own batches)");
  }
  PB_RETURN_IF_ERROR(CheckEvalTokens(data_, options_.model->context(), options_.eval_tokens));
  if (options_.model->vocab_size() < data_.vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("model vocab_size ", options_.model->vocab_size(),
                                                   " is smaller than the data's ",
                                                   data_.vocab_size()));
  }
  PB_ASSIGN_OR_RETURN(device_, ResolveDevice(options_.device));
  PB_ASSIGN_OR_RETURN(result_.simulation, Simulate(schedule_, costs, {.record_timeline = true}));

  const int total = schedule_.params().total_microbatches();
  for (int g = 0; g < stages_; ++g) {
    const int rank = schedule_.RankOfStage(g);
    const int horizon =
        HorizonSteps(result_.simulation.stages[rank].optimizer_steps,
                     schedule_.params().batches, options_.horizon_batches);
    StageWorkerOptions worker = WorkerOptionsFor(schedule_, g, partition_, options_.model,
                                                 options_.optimizer, options_.seed, horizon,
                                                 options_.architecture);
    worker.device = device_;
    workers_.push_back(std::make_unique<StageWorker>(std::move(worker)));
  }
  result_.microbatches.assign(total, MicrobatchRecord{0, 0, std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0)});
  stages_done_.assign(total, 0);
  microbatches_done_.assign(schedule_.params().batches, 0);
  batch_end_.assign(schedule_.params().batches, 0.0);
  rank_steps_.assign(schedule_.params().stages, 0);
  replay_start_ = Clock::now();
  for (const TimelineEvent& event : result_.simulation.timeline) {
    PB_RETURN_IF_ERROR(Execute(event, on_batch));
    if (budget_reached_) break;
  }
  result_.budget_reached = budget_reached_;
  for (const auto& worker : workers_) {
    result_.max_drift.push_back(worker->max_drift());
    result_.max_drift_per_group.push_back(worker->max_drift_per_group());
    result_.max_live_versions.push_back(worker->max_live_versions());
  }
  result_.final_weights = CurrentWeights();
  result_.final_validation_loss =
      ValidationLoss(*options_.model, partition_, result_.final_weights, data_,
                     options_.eval_tokens, device_);
  return std::move(result_);
}

}  // namespace

absl::Status ValidateArchitectureTraining(const ExecutorOptions& options,
                                          const std::vector<UnitRange>& partition) {
  if (!options.architecture) return absl::OkStatus();
  const double split = options.architecture->split;
  if (!(split > 0 && split < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("architecture training split must be in (0, 1), got ", split));
  }
  for (const UnitRange& range : partition) {
    for (bool is_architecture : options.model->ArchitectureMask(range)) {
      if (is_architecture) return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "architecture training asked for, but the model (", options.model->Describe(),
      ") has no architecture parameters"));
}

TokenBatch TrainingMicrobatch(const TokenDataset& data, const ExecutorOptions& options,
                              int microbatch, int microbatches_per_batch) {
  const int context = options.model->context();
  if (!options.architecture) {
    return data.TrainBatch(options.micro_batch_size, context, options.seed, microbatch);
  }
  return data.TrainPartBatch(options.architecture->split,
                             TrainsArchitecture(microbatch, microbatches_per_batch),
                             options.micro_batch_size, context, options.seed, microbatch);
}

absl::Status CheckEvalTokens(const TokenDataset& data, int context, std::int64_t eval_tokens) {
  const std::int64_t windows = (eval_tokens + context - 1) / context;
  if (eval_tokens < 1 || windows > data.ValidationWindowCount(context)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eval_tokens: ", eval_tokens, " must be >= 1 and at most the validation split's ",
        data.ValidationWindowCount(context) * context, " tokens (in windows of ", context, ")"));
  }
  return absl::OkStatus();
}

double ValidationLoss(const StageModel& model, const std::vector<UnitRange>& partition,
                      const std::vector<std::vector<torch::Tensor>>& weights,
                      const TokenDataset& data, std::int64_t eval_tokens,
                      const torch::Device& device) {
  // Windows at a time: large enough to keep the matrix products efficient.
  constexpr int kWindowsPerBatch = 64;
  torch::NoGradGuard no_grad;
  const std::int64_t windows = (eval_tokens + model.context() - 1) / model.context();
  double total = 0;
  for (std::int64_t first = 0; first < windows; first += kWindowsPerBatch) {
    const int count = static_cast<int>(std::min<std::int64_t>(kWindowsPerBatch, windows - first));
    const TokenBatch batch = data.ValidationWindows(first, count, model.context());
    torch::Tensor x = batch.inputs.to(device);
    for (size_t g = 0; g < partition.size(); ++g) {
      x = model.Forward(partition[g], weights[g], x, std::nullopt);
    }
    // LanguageModelLoss is the mean over the batch's tokens; weight it by the batch's windows.
    total += LanguageModelLoss(x, batch.targets.to(device)).item<double>() * count;
  }
  return total / windows;
}

RunSummary SummarizeExecutorRun(const Schedule& schedule, const ExecutorResult& result) {
  const ScheduleParams& params = schedule.params();
  RunSummary summary;
  summary.backend = "executor";
  summary.schedule = schedule.name();
  summary.params = params;
  summary.weights = result.simulation.weights;
  summary.synchronous = schedule.synchronous();
  const int batches = static_cast<int>(result.batches.size());
  summary.microbatches = static_cast<std::int64_t>(batches) * params.microbatches;
  summary.tokens = batches == 0 ? 0 : result.batches.back().tokens;
  const double simulated_seconds = batches == 0 ? 0.0 : result.batches.back().simulated_time;
  summary.simulated = OnClock(simulated_seconds, summary.microbatches, summary.tokens);
  summary.measured = OnClock(result.wall_seconds, summary.microbatches, summary.tokens);
  // The simulated per-rank figures describe the whole schedule; a budget that stopped the run
  // early leaves only the memory peak (reached in the first mini-batches) meaningful.
  const bool complete = batches == params.batches;
  if (complete) summary.simulated->bubble_fraction = result.simulation.bubble_fraction;
  for (size_t rank = 0; rank < result.simulation.stages.size(); ++rank) {
    const StageStats& s = result.simulation.stages[rank];
    RankSummary r{.rank = static_cast<int>(rank),
                  .simulated_peak_memory_bytes = s.peak_memory_bytes};
    if (complete) r.simulated_bubble_fraction = s.bubble_fraction;
    summary.ranks.push_back(r);
  }
  const std::int64_t finished = std::min<std::int64_t>(summary.microbatches,
                                                       result.microbatches.size());
  for (int stage = 0; stage < params.model_stages(); ++stage) {
    ModelStageSummary m;
    m.model_stage = stage;
    m.rank = schedule.RankOfStage(stage);
    m.drift_bound = schedule.DriftBound(m.rank);
    m.max_drift = result.max_drift[stage];
    SetDriftPerKind(m, result.max_drift_per_group[stage]);
    m.max_live_weight_versions = result.max_live_versions[stage];
    for (std::int64_t mb = 0; mb < finished; ++mb) {
      CountInDriftHistogram(m, result.microbatches[mb].updates_crossed[stage]);
    }
    summary.max_drift = std::max(summary.max_drift, m.max_drift);
    summary.model_stages.push_back(std::move(m));
  }
  for (const BatchRecord& b : result.batches) summary.train_losses.push_back(b.train_loss);
  summary.final_val_loss = result.final_validation_loss;
  return summary;
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
