#include "engine/exec/stage_worker.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/platform/device.h"

namespace pipebench {

int HorizonSteps(int optimizer_steps, int batches, int horizon_batches) {
  if (horizon_batches <= 0 || batches <= 0) return optimizer_steps;
  return static_cast<int>(std::lround(double(optimizer_steps) * horizon_batches / batches));
}

StageWorkerOptions WorkerOptionsFor(const Schedule& schedule, int model_stage,
                                    const std::vector<UnitRange>& partition,
                                    std::shared_ptr<const StageModel> model,
                                    const OptimizerConfig& optimizer,
                                    std::uint64_t seed, int horizon_steps,
                                    const std::optional<ArchitectureTraining>& architecture) {
  StageWorkerOptions options;
  options.model = std::move(model);
  options.units = partition[model_stage];
  options.stage = model_stage;
  options.num_stages = static_cast<int>(partition.size());
  options.weights = schedule.weight_policy(model_stage);
  options.optimizer = optimizer;
  if (options.optimizer.total_steps <= 0) options.optimizer.total_steps = horizon_steps;
  options.seed = seed;
  options.microbatches_per_batch = schedule.params().microbatches;
  if (architecture) {
    // Each kind steps on every other mini-batch: half the stage's optimizer steps.
    options.architecture_optimizer = architecture->optimizer;
    const int half = std::max(1, (horizon_steps + 1) / 2);
    if (optimizer.total_steps <= 0) options.optimizer.total_steps = half;
    if (options.architecture_optimizer->total_steps <= 0) {
      options.architecture_optimizer->total_steps = half;
    }
  }
  return options;
}

StageWorker::StageWorker(StageWorkerOptions options)
    : options_(std::move(options)), current_(std::make_shared<WeightVersion>()) {
  current_->leaves =
      TrainableOn(options_.model->InitWeights(options_.units, options_.seed), options_.device);
  grad_sum_.resize(current_->leaves.size());
  const std::vector<bool> decay = options_.model->WeightDecayMask(options_.units);
  const std::vector<bool> architecture =
      options_.architecture_optimizer ? options_.model->ArchitectureMask(options_.units)
                                      : std::vector<bool>(decay.size(), false);
  // Group 0 the weights (all tensors in a plain run), group 1 the architecture; the
  // architecture's Adam decays every tensor, as the single-process search's does.
  for (bool is_architecture : {false, true}) {
    if (is_architecture && !options_.architecture_optimizer) break;
    std::vector<std::size_t> tensors;
    std::vector<bool> mask;
    for (std::size_t i = 0; i < decay.size(); ++i) {
      if (architecture[i] != is_architecture) continue;
      tensors.push_back(i);
      mask.push_back(is_architecture || decay[i]);
    }
    OptimizerConfig config =
        is_architecture ? *options_.architecture_optimizer : options_.optimizer;
    if (!is_architecture && options_.weights.nesterov_beta1 > 0) {
      config.nesterov = true;
      config.beta1 = options_.weights.nesterov_beta1;
    }
    groups_.push_back(Group{std::move(tensors), config, AdamW(config, std::move(mask))});
  }
  max_drift_per_group_.assign(groups_.size(), 0);
}

StageWorker::Group& StageWorker::GroupOf(int microbatch) {
  if (groups_.size() == 1) return groups_[0];
  return TrainsArchitecture(microbatch, options_.microbatches_per_batch) ? groups_[1]
                                                                         : groups_[0];
}

std::vector<torch::Tensor> StageWorker::Leaves(const WeightVersion& version,
                                               const Group& group) const {
  std::vector<torch::Tensor> leaves;
  for (std::size_t i : group.tensors) leaves.push_back(version.leaves[i]);
  return leaves;
}

absl::StatusOr<ForwardResult> StageWorker::Forward(int microbatch, const torch::Tensor& input,
                                                   const torch::Tensor& targets) {
  InFlight f;
  const torch::Tensor here = input.to(options_.device);
  f.input = options_.stage == 0 ? here : here.detach().requires_grad_(true);
  f.weights = current_;
  f.forward_version = version_;
  for (const Group& group : groups_) f.forward_group_steps.push_back(group.optimizer.steps());
  // Dropout masks depend on (seed, micro-batch, unit) alone: every schedule and backend drops the
  // same units of the same micro-batch.
  torch::Tensor out = options_.model->Forward(
      options_.units, f.weights->leaves, f.input,
      options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(microbatch));
  ForwardResult result;
  result.weight_version = version_;
  if (last()) {
    out = LanguageModelLoss(out, targets.to(options_.device));
    result.loss = out.item<double>();
    if (!std::isfinite(result.loss)) {
      return absl::InvalidArgumentError(
          absl::StrCat("non-finite loss (", result.loss, ") at stage ", options_.stage,
                       ", micro-batch ", microbatch, " after ", version_,
                       " optimizer steps; lower the learning rate or check the data"));
    }
  } else {
    if (!torch::isfinite(out).all().item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat("non-finite activations leaving stage ",
                                                     options_.stage, ", micro-batch ", microbatch,
                                                     " after ", version_,
                                                     " optimizer steps"));
    }
    result.activation = out.detach();
  }
  f.output = out;
  inflight_.emplace(microbatch, std::move(f));
  NoteLiveVersions();
  return result;
}

void StageWorker::NoteLiveVersions() {
  if (!options_.weights.stash) return;
  std::set<int> live = {current_->id};
  for (const auto& [mb, f] : inflight_) live.insert(f.weights->id);
  max_live_versions_ = std::max(max_live_versions_, static_cast<int>(live.size()));
}

void StageWorker::NoteDriftPerGroup(const InFlight& f) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    max_drift_per_group_[g] = std::max(max_drift_per_group_[g],
                                       groups_[g].optimizer.steps() - f.forward_group_steps[g]);
  }
}

void StageWorker::Accumulate(Group& group, const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < grads.size(); ++k) {
    if (!grads[k].defined()) continue;
    torch::Tensor& sum = grad_sum_[group.tensors[k]];
    if (sum.defined()) {
      sum.add_(grads[k]);
    } else {
      sum = grads[k].clone();
    }
  }
  ++group.backwards_since_step;
}

BackwardResult StageWorker::Backward(int microbatch, const torch::Tensor& grad_output,
                                     bool input_only) {
  InFlight& f = inflight_.at(microbatch);
  f.grad_output = grad_output;
  BackwardResult result;
  result.updates_crossed = version_ - f.forward_version;
  result.weight_version = options_.weights.stash ? f.weights->id : version_;
  max_drift_ = std::max(max_drift_, result.updates_crossed);
  NoteDriftPerGroup(f);

  std::vector<torch::Tensor> restore;
  if (options_.weights.backward_extrapolation > 0 && !update_velocity_.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < f.weights->leaves.size(); ++i) {
      torch::Tensor data = f.weights->leaves[i].data();
      restore.push_back(data.clone());
      data.sub_(update_velocity_[i], options_.weights.backward_extrapolation);
    }
  }
  std::vector<torch::Tensor> grad_outputs;
  if (grad_output.defined()) grad_outputs.push_back(grad_output);
  const bool needs_input_grad = options_.stage > 0;
  if (!input_only) {
    Group& group = GroupOf(microbatch);
    std::vector<torch::Tensor> inputs = Leaves(*f.weights, group);
    if (needs_input_grad) inputs.push_back(f.input);
    std::vector<torch::Tensor> grads;
    // A stage may hold nothing of the kind this micro-batch trains (no architecture tensors).
    if (!inputs.empty()) {
      grads = torch::autograd::grad({f.output}, inputs, grad_outputs, /*retain_graph=*/false,
                                    /*create_graph=*/false, /*allow_unused=*/true);
    }
    if (needs_input_grad) {
      result.input_gradient = grads.back();
      grads.pop_back();
    }
    Accumulate(group, grads);
  } else if (needs_input_grad) {
    result.input_gradient =
        torch::autograd::grad({f.output}, {f.input}, grad_outputs, /*retain_graph=*/true)[0];
  }
  for (size_t i = 0; i < restore.size(); ++i) f.weights->leaves[i].data().copy_(restore[i]);
  if (!input_only) inflight_.erase(microbatch);
  return result;
}

int StageWorker::WeightGradient(int microbatch) {
  InFlight& f = inflight_.at(microbatch);
  std::vector<torch::Tensor> grad_outputs;
  if (f.grad_output.defined()) grad_outputs.push_back(f.grad_output);
  Group& group = GroupOf(microbatch);
  const std::vector<torch::Tensor> leaves = Leaves(*f.weights, group);
  std::vector<torch::Tensor> grads;
  if (!leaves.empty()) {
    grads = torch::autograd::grad({f.output}, leaves, grad_outputs, /*retain_graph=*/false,
                                  /*create_graph=*/false, /*allow_unused=*/true);
  }
  Accumulate(group, grads);
  NoteDriftPerGroup(f);  // an update between I and W reaches the weight gradient
  const int version = options_.weights.stash ? f.weights->id : version_;
  inflight_.erase(microbatch);
  return version;
}

absl::Status StageWorker::OptimizerStep() {
  ++version_;
  // Each group with backwards since its last step: averaged gradients (undefined where none
  // reached a tensor) and its learning rate. A non-finite gradient stops the run (an error the
  // caller does not continue from), so it is checked before any tensor changes.
  struct Update {
    Group* group;
    std::vector<torch::Tensor> grads;
    double lr = 0;
  };
  std::vector<Update> updates;
  torch::NoGradGuard no_grad;
  for (Group& group : groups_) {
    if (group.backwards_since_step == 0) continue;
    if (group.tensors.empty()) {  // a stage with no tensor of this kind: nothing to update
      group.backwards_since_step = 0;
      continue;
    }
    const int step = group.optimizer.steps();
    Update update{&group, {},
                  LearningRate(group.config, step) *
                      options_.weights.LearningRateScale(step, group.config.warmup_steps)};
    // One flag for the group, read once: on a GPU each read waits for the device.
    torch::Tensor finite;
    for (std::size_t i : group.tensors) {
      torch::Tensor& g = grad_sum_[i];
      if (g.defined()) {
        g.div_(group.backwards_since_step);
        const torch::Tensor all = torch::isfinite(g).all();
        finite = finite.defined() ? finite.logical_and(all) : all;
      }
      update.grads.push_back(g);
    }
    if (finite.defined() && !finite.item<bool>()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "non-finite gradient at stage ", options_.stage, ", optimizer step ", step));
    }
    updates.push_back(std::move(update));
  }
  if (updates.empty()) return absl::OkStatus();
  std::vector<torch::Tensor> before;
  if (options_.weights.backward_extrapolation > 0) {
    for (const torch::Tensor& w : current_->leaves) before.push_back(w.detach().clone());
  }
  if (!options_.weights.stash) {
    for (Update& update : updates) {
      std::vector<torch::Tensor> data;
      for (std::size_t i : update.group->tensors) data.push_back(current_->leaves[i].data());
      update.group->optimizer.Step(data, update.grads, update.lr);
    }
    current_->id = version_;
  } else {
    // A new version; in-flight micro-batches keep theirs through their graphs.
    auto next = std::make_shared<WeightVersion>();
    next->id = version_;
    for (const torch::Tensor& w : current_->leaves) next->leaves.push_back(w.detach().clone());
    for (Update& update : updates) {
      update.group->optimizer.Step(Leaves(*next, *update.group), update.grads, update.lr);
    }
    for (torch::Tensor& w : next->leaves) w.set_requires_grad(true);
    current_ = std::move(next);
  }
  if (!before.empty()) {
    if (update_velocity_.empty()) {
      for (const torch::Tensor& w : before) update_velocity_.push_back(torch::zeros_like(w));
    }
    for (size_t i = 0; i < before.size(); ++i) {
      const double decay = options_.weights.velocity_decay;
      update_velocity_[i].mul_(decay).add_(current_->leaves[i].detach() - before[i], 1.0 - decay);
    }
  }
  for (Update& update : updates) {
    for (std::size_t i : update.group->tensors) grad_sum_[i] = torch::Tensor();
    update.group->backwards_since_step = 0;
  }
  NoteLiveVersions();
  return absl::OkStatus();
}

}  // namespace pipebench
