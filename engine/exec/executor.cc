#include "engine/exec/executor.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

struct WeightVersion {
  int id = 0;
  std::vector<torch::Tensor> leaves;  // requires_grad; shared with every graph built on them
};

struct InFlight {
  torch::Tensor input;        // token ids on stage 0, a leaf activation elsewhere
  torch::Tensor output;       // the loss on the last stage, hidden states elsewhere
  torch::Tensor grad_output;  // kept from I to W when backward is split
  std::shared_ptr<WeightVersion> weights;
  int forward_version = 0;
};

struct StageState {
  UnitRange units;
  int rank = 0;
  int delay = 0;  // the schedule's drift bound, PipeMare's tau
  OptimizerConfig optimizer_config;
  std::shared_ptr<WeightVersion> current;
  std::unique_ptr<AdamW> optimizer;
  std::vector<torch::Tensor> grad_sum;
  int backwards_since_step = 0;
  int version = 0;
  std::vector<torch::Tensor> update_velocity;  // EMA of per-step weight change (PipeMare)
  std::unordered_map<int, InFlight> inflight;
  std::unordered_map<int, torch::Tensor> activations;  // from the previous stage
  std::unordered_map<int, torch::Tensor> gradients;    // from the next stage
  int max_live_versions = 1;
  int max_drift = 0;
};

// PipeMare's learning-rate rescheduling, as this project reads it: a stage with delay tau starts
// at 1/(tau+1) of the scheduled rate and ramps linearly to the full rate over the warmup steps.
double DelayWarmupFactor(int delay, int step, int warmup_steps) {
  if (delay == 0 || warmup_steps <= 0) return 1.0;
  const double start = 1.0 / (delay + 1);
  return start + (1.0 - start) * std::min(1.0, double(step) / warmup_steps);
}

constexpr double kVelocityDecay = 0.9;

class Executor {
 public:
  Executor(const Schedule& schedule, const std::vector<UnitRange>& partition,
           const TokenDataset& data, const ExecutorOptions& options)
      : schedule_(schedule),
        partition_(partition),
        data_(data),
        options_(options),
        p_(schedule.params().stages),
        stages_(schedule.params().model_stages()),
        m_(schedule.params().microbatches),
        stash_(schedule.weight_semantics() != WeightSemantics::kCurrent) {}

  absl::StatusOr<ExecutorResult> Run(const CostModel& costs, const BatchCallback& on_batch);

 private:
  absl::Status Forward(int stage, int mb);
  absl::Status Backward(int stage, int mb, ActionType type);
  absl::Status WeightGradient(int stage, int mb);
  absl::Status OptimizerStep(int stage);
  void Accumulate(StageState& st, const std::vector<torch::Tensor>& grads);
  void NoteLiveVersions(StageState& st);
  void FinishBackwardPass(int stage, int mb, double end, const BatchCallback& on_batch);
  TokenBatch Batch(int mb) const {
    return data_.TrainBatch(options_.micro_batch_size, options_.model.context, options_.seed, mb);
  }
  std::vector<std::vector<torch::Tensor>> CurrentWeights() const;

  const Schedule& schedule_;
  const std::vector<UnitRange>& partition_;
  const TokenDataset& data_;
  const ExecutorOptions& options_;
  const int p_;
  const int stages_;
  const int m_;
  const bool stash_;
  std::vector<StageState> stage_;
  std::vector<int> stages_done_;     // per micro-batch: stages whose backward has fully run
  std::vector<int> microbatches_done_;  // per batch
  ExecutorResult result_;
};

std::vector<std::vector<torch::Tensor>> Executor::CurrentWeights() const {
  std::vector<std::vector<torch::Tensor>> weights;
  for (const StageState& st : stage_) weights.push_back(st.current->leaves);
  return weights;
}

absl::Status Executor::Forward(int stage, int mb) {
  StageState& st = stage_[stage];
  InFlight f;
  if (stage == 0) {
    f.input = Batch(mb).inputs;
  } else {
    auto it = st.activations.find(mb);
    f.input = it->second.requires_grad_(true);
    st.activations.erase(it);
  }
  f.weights = st.current;
  f.forward_version = st.version;
  torch::Tensor out = ForwardUnits(options_.model, st.units, f.weights->leaves, f.input);
  const int batch = mb / m_;
  if (stage == stages_ - 1) {
    out = LanguageModelLoss(out, Batch(mb).targets);
    const double loss = out.item<double>();
    if (!std::isfinite(loss)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "non-finite loss (", loss, ") at stage ", stage, ", micro-batch ", mb, " of batch ",
          batch, "; lower the learning rate or check the data"));
    }
    result_.microbatches[mb].loss = loss;
  } else {
    if (!torch::isfinite(out).all().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat("non-finite activations leaving stage ",
                                                     stage, ", micro-batch ", mb, " of batch ",
                                                     batch));
    }
    stage_[stage + 1].activations[mb] = out.detach();
  }
  f.output = out;
  result_.microbatches[mb].forward_version[stage] = st.version;
  st.inflight.emplace(mb, std::move(f));
  NoteLiveVersions(st);
  return absl::OkStatus();
}

void Executor::NoteLiveVersions(StageState& st) {
  if (!stash_) return;
  std::set<int> live = {st.current->id};
  for (const auto& [mb, f] : st.inflight) live.insert(f.weights->id);
  st.max_live_versions = std::max(st.max_live_versions, static_cast<int>(live.size()));
}

void Executor::Accumulate(StageState& st, const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (st.grad_sum[i].defined()) {
      st.grad_sum[i].add_(grads[i]);
    } else {
      st.grad_sum[i] = grads[i].clone();
    }
  }
  ++st.backwards_since_step;
}

absl::Status Executor::Backward(int stage, int mb, ActionType type) {
  StageState& st = stage_[stage];
  InFlight& f = st.inflight.at(mb);
  if (stage < stages_ - 1) {
    auto it = st.gradients.find(mb);
    f.grad_output = it->second;
    st.gradients.erase(it);
  }
  const int drift = st.version - f.forward_version;
  st.max_drift = std::max(st.max_drift, drift);
  MicrobatchRecord& record = result_.microbatches[mb];
  record.updates_crossed[stage] = drift;
  record.backward_version[stage] = stash_ ? f.weights->id : st.version;

  // PipeMare's discrepancy correction: run the backward on weights pulled back `delay` steps
  // along the recent update direction, then restore them.
  std::vector<torch::Tensor> restore;
  if (schedule_.compensates_delay() && st.delay > 0 && !st.update_velocity.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < f.weights->leaves.size(); ++i) {
      torch::Tensor data = f.weights->leaves[i].data();
      restore.push_back(data.clone());
      data.sub_(st.update_velocity[i], st.delay);
    }
  }
  std::vector<torch::Tensor> grad_outputs;
  if (f.grad_output.defined()) grad_outputs.push_back(f.grad_output);
  const bool needs_input_grad = stage > 0;
  if (type == ActionType::kBackward) {
    std::vector<torch::Tensor> inputs = f.weights->leaves;
    if (needs_input_grad) inputs.push_back(f.input);
    std::vector<torch::Tensor> grads =
        torch::autograd::grad({f.output}, inputs, grad_outputs, /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    if (needs_input_grad) {
      stage_[stage - 1].gradients[mb] = grads.back();
      grads.pop_back();
    }
    Accumulate(st, grads);
  } else if (needs_input_grad) {  // input gradient now, weight gradient later (zero bubble)
    stage_[stage - 1].gradients[mb] =
        torch::autograd::grad({f.output}, {f.input}, grad_outputs, /*retain_graph=*/true)[0];
  }
  for (size_t i = 0; i < restore.size(); ++i) f.weights->leaves[i].data().copy_(restore[i]);
  if (type == ActionType::kBackward) st.inflight.erase(mb);
  return absl::OkStatus();
}

absl::Status Executor::WeightGradient(int stage, int mb) {
  StageState& st = stage_[stage];
  InFlight& f = st.inflight.at(mb);
  std::vector<torch::Tensor> grad_outputs;
  if (f.grad_output.defined()) grad_outputs.push_back(f.grad_output);
  Accumulate(st, torch::autograd::grad({f.output}, f.weights->leaves, grad_outputs,
                                       /*retain_graph=*/false, /*create_graph=*/false,
                                       /*allow_unused=*/true));
  st.inflight.erase(mb);
  return absl::OkStatus();
}

absl::Status Executor::OptimizerStep(int stage) {
  StageState& st = stage_[stage];
  const int step = st.optimizer->steps();
  ++st.version;
  if (st.backwards_since_step == 0) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (torch::Tensor& g : st.grad_sum) {
    grads.push_back(g.div_(st.backwards_since_step));
    if (!torch::isfinite(g).all().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat("non-finite gradient at stage ", stage,
                                                     ", optimizer step ", step));
    }
  }
  double lr = LearningRate(st.optimizer_config, step);
  if (schedule_.compensates_delay()) {
    lr *= DelayWarmupFactor(st.delay, step, st.optimizer_config.warmup_steps);
  }
  std::vector<torch::Tensor> before;
  if (schedule_.compensates_delay()) {
    for (const torch::Tensor& w : st.current->leaves) before.push_back(w.detach().clone());
  }
  if (stash_) {
    // A new version; in-flight micro-batches keep theirs through their graphs.
    auto next = std::make_shared<WeightVersion>();
    next->id = st.version;
    for (const torch::Tensor& w : st.current->leaves) next->leaves.push_back(w.detach().clone());
    st.optimizer->Step(next->leaves, grads, lr);
    for (torch::Tensor& w : next->leaves) w.set_requires_grad(true);
    st.current = std::move(next);
  } else {
    std::vector<torch::Tensor> data;
    for (const torch::Tensor& w : st.current->leaves) data.push_back(w.data());
    st.optimizer->Step(data, grads, lr);
    st.current->id = st.version;
  }
  if (!before.empty()) {
    if (st.update_velocity.empty()) {
      for (const torch::Tensor& w : before) st.update_velocity.push_back(torch::zeros_like(w));
    }
    for (size_t i = 0; i < before.size(); ++i) {
      st.update_velocity[i].mul_(kVelocityDecay).add_(
          st.current->leaves[i].detach() - before[i], 1.0 - kVelocityDecay);
    }
  }
  for (torch::Tensor& g : st.grad_sum) g = torch::Tensor();
  st.backwards_since_step = 0;
  NoteLiveVersions(st);
  return absl::OkStatus();
}

void Executor::FinishBackwardPass(int stage, int mb, double end, const BatchCallback& on_batch) {
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
  if (static_cast<int>(partition_.size()) != stages_) {
    return absl::InvalidArgumentError(absl::StrCat("partition has ", partition_.size(),
                                                   " stages, the schedule has ", stages_,
                                                   " model stages"));
  }
  for (int g = 0; g < stages_; ++g) {
    const UnitRange& r = partition_[g];
    const bool chained = g == 0 ? r.begin == 0 : r.begin == partition_[g - 1].end;
    if (r.size() < 1 || !chained || (g == stages_ - 1 && r.end != options_.model.units())) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition stage ", g, " [", r.begin, ", ", r.end,
                       ") does not continue a contiguous cover of the model's ",
                       options_.model.units(), " units"));
    }
  }
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
  stage_.resize(stages_);
  for (int g = 0; g < stages_; ++g) {
    StageState& st = stage_[g];
    st.units = partition_[g];
    st.rank = schedule_.RankOfStage(g);
    st.delay = std::max(0, schedule_.DriftBound(st.rank));
    st.current = std::make_shared<WeightVersion>();
    st.current->leaves = InitWeights(options_.model, st.units, options_.seed);
    st.optimizer_config = options_.optimizer;
    if (st.optimizer_config.total_steps <= 0) {
      st.optimizer_config.total_steps = result_.simulation.stages[st.rank].optimizer_steps;
    }
    st.optimizer = std::make_unique<AdamW>(st.optimizer_config,
                                           WeightDecayMask(options_.model, st.units));
    st.grad_sum.resize(st.current->leaves.size());
  }
  result_.microbatches.assign(total, MicrobatchRecord{0, 0, std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0),
                                                      std::vector<int>(stages_, 0)});
  stages_done_.assign(total, 0);
  microbatches_done_.assign(schedule_.params().batches, 0);

  for (const TimelineEvent& e : result_.simulation.timeline) {
    const int stage = schedule_.StageOf(e.rank, e.chunk);
    switch (e.type) {
      case ActionType::kForward:
        PB_RETURN_IF_ERROR(Forward(stage, e.microbatch));
        break;
      case ActionType::kBackward:
        PB_RETURN_IF_ERROR(Backward(stage, e.microbatch, e.type));
        FinishBackwardPass(stage, e.microbatch, e.end, on_batch);
        break;
      case ActionType::kBackwardInput:
        PB_RETURN_IF_ERROR(Backward(stage, e.microbatch, e.type));
        break;
      case ActionType::kBackwardWeight:
        PB_RETURN_IF_ERROR(WeightGradient(stage, e.microbatch));
        FinishBackwardPass(stage, e.microbatch, e.end, on_batch);
        break;
      case ActionType::kOptimizerStep:
        for (int chunk = 0; chunk < schedule_.params().chunks; ++chunk) {
          PB_RETURN_IF_ERROR(OptimizerStep(schedule_.StageOf(e.rank, chunk)));
        }
        break;
      default:
        break;  // sends: a single process hands activations over directly
    }
  }
  for (const StageState& st : stage_) {
    result_.max_drift.push_back(st.max_drift);
    result_.max_live_versions.push_back(st.max_live_versions);
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
    for (size_t g = 0; g < partition.size(); ++g) x = ForwardUnits(model, partition[g], weights[g], x);
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
