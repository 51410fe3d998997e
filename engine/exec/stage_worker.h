// One model stage's share of training: its weights (every live version), its optimizer, and the
// autograd graphs of its in-flight micro-batches. Every backend runs a schedule's actions through
// this class; backends differ only in how activations and gradients travel between stages
// (handed over in one process, sent over c10d between processes).
//
// Weight versions, per the schedule's WeightPolicy:
//  - one copy (stash = false): updated in place through each parameter's `.data()` alias. The
//    alias has its own autograd version counter, so a micro-batch whose forward ran before an
//    update still back-propagates - on the updated weights (PACI, PipeMare, naive async) - on
//    stock LibTorch. Synchronous schedules never update mid-batch, so they see one version.
//  - stash = true: an update makes a new version; a micro-batch's graph keeps the version its
//    forward used, so its backward runs on it (PipeDream, 2BW). A version is freed when its last
//    micro-batch finishes.
// Gradients are averaged over the backward passes since the last step.
#ifndef PIPEBENCH_ENGINE_EXEC_STAGE_WORKER_H_
#define PIPEBENCH_ENGINE_EXEC_STAGE_WORKER_H_

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/optimizer.h"
#include "engine/model/gpt.h"
#include "engine/model/stage_model.h"
#include "engine/schedule/schedule.h"

namespace pipebench {

// Bi-level training, as architecture search alternates its updates: the model's architecture
// tensors (StageModel::ArchitectureMask) train with their own optimizer on architecture
// micro-batches, drawn from the training split after `split`; the weights train on the other
// micro-batches, from the part before it. Each backward computes its own kind's gradients only.
// An update covers one kind when the schedule's updates fall on mini-batch boundaries (PACI: a
// divides m); otherwise it steps each kind on the backwards it has had.
struct ArchitectureTraining {
  OptimizerConfig optimizer;
  double split = 0.5;
};

// In an alternating run: whether `microbatch` trains the architecture. Mini-batches alternate,
// architecture first (as a first-order DARTS step updates alpha before the weights).
inline bool TrainsArchitecture(int microbatch, int microbatches_per_batch) {
  return (microbatch / microbatches_per_batch) % 2 == 0;
}

struct StageWorkerOptions {
  std::shared_ptr<const StageModel> model;
  UnitRange units;
  int stage = 0;       // model stage index
  int num_stages = 1;  // model stages in the pipeline
  // The schedule's weight rules for this stage: stashing, learning-rate scale, backward-weight
  // extrapolation, Nesterov look-ahead on the weights' optimizer (see
  // engine/schedule/weight_policy.h).
  WeightPolicy weights;
  OptimizerConfig optimizer;
  std::uint64_t seed = 0;
  // Set: alternate between the architecture and the weights (see ArchitectureTraining).
  std::optional<OptimizerConfig> architecture_optimizer;
  int microbatches_per_batch = 1;
  // Where the weights, activations and optimizer state live (a resolved device; see
  // engine/platform/device.h). Weights are drawn on the CPU and moved once; inputs arriving
  // elsewhere (token ids from the data set) are moved on entry, so activations and gradients
  // leave on this device.
  torch::Device device = torch::kCPU;
};

struct ForwardResult {
  torch::Tensor activation;  // to send downstream; undefined on the last stage
  double loss = 0;           // last stage only
  int weight_version = 0;
};

struct BackwardResult {
  torch::Tensor input_gradient;  // to send upstream; undefined on stage 0
  int weight_version = 0;        // the version the backward ran on
  int updates_crossed = 0;       // optimizer steps since this micro-batch's forward
};

// A stage's cosine horizon in optimizer steps: its `optimizer_steps` in a run of `batches`
// mini-batches, or as many steps per mini-batch over `horizon_batches` when that is > 0 (a
// horizon shared by runs of different lengths; see ExecutorOptions::horizon_batches).
int HorizonSteps(int optimizer_steps, int batches, int horizon_batches);

// The worker options a schedule implies for `model_stage`. A cosine horizon of 0 in `optimizer`
// becomes `horizon_steps` (the caller's choice: this stage's optimizer steps in the run, or in the
// run's shared horizon of mini-batches).
StageWorkerOptions WorkerOptionsFor(const Schedule& schedule, int model_stage,
                                    const std::vector<UnitRange>& partition,
                                    std::shared_ptr<const StageModel> model,
                                    const OptimizerConfig& optimizer,
                                    std::uint64_t seed, int horizon_steps,
                                    const std::optional<ArchitectureTraining>& architecture =
                                        std::nullopt);

class StageWorker {
 public:
  explicit StageWorker(StageWorkerOptions options);

  // `input`: token ids on stage 0, the upstream activation elsewhere. `targets` is used on the
  // last stage. Either may be on any device; the returned activation is on this stage's. A
  // non-finite loss or activation is an error naming the stage and micro-batch.
  absl::StatusOr<ForwardResult> Forward(int microbatch, const torch::Tensor& input,
                                        const torch::Tensor& targets);
  // The full backward, or with `input_only` just the input gradient (zero-bubble I; the weight
  // gradient follows in WeightGradient). `grad_output` is undefined on the last stage.
  BackwardResult Backward(int microbatch, const torch::Tensor& grad_output, bool input_only);
  // Returns the weight version it ran on.
  int WeightGradient(int microbatch);
  // Averages the accumulated gradients and steps AdamW (each kind of tensor with its own, in an
  // alternating run, when it has had a backward since its last step); a non-finite gradient is an
  // error naming the stage and step.
  absl::Status OptimizerStep();

  int version() const { return version_; }
  int max_live_versions() const { return max_live_versions_; }
  int max_drift() const { return max_drift_; }
  // Per optimizer group (all tensors in a plain run; weights, then architecture, in an
  // alternating one): the most of that group's own updates any backward (input or weight
  // gradient) crossed since its forward. Without stashing, an architecture micro-batch whose
  // backward crossed a weight update computes alpha's gradient on other weights than its forward
  // saw; this tells the two kinds of staleness apart.
  const std::vector<int>& max_drift_per_group() const { return max_drift_per_group_; }
  int inflight() const { return static_cast<int>(inflight_.size()); }
  const torch::Device& device() const { return options_.device; }
  const std::vector<torch::Tensor>& weights() const { return current_->leaves; }

 private:
  struct WeightVersion {
    int id = 0;
    std::vector<torch::Tensor> leaves;  // requires_grad; shared with the graphs built on them
  };
  struct InFlight {
    torch::Tensor input;
    torch::Tensor output;       // the loss on the last stage
    torch::Tensor grad_output;  // kept from I to W
    std::shared_ptr<WeightVersion> weights;
    int forward_version = 0;
    std::vector<int> forward_group_steps;  // each group's optimizer steps at the forward
  };

  // Tensors one optimizer steps: all of them, or in an alternating run the weights (group 0) and
  // the architecture (group 1).
  struct Group {
    std::vector<std::size_t> tensors;  // indices into a version's leaves
    OptimizerConfig config;
    AdamW optimizer;
    int backwards_since_step = 0;
  };

  bool last() const { return options_.stage == options_.num_stages - 1; }
  // The group micro-batch `microbatch`'s backward trains.
  Group& GroupOf(int microbatch);
  std::vector<torch::Tensor> Leaves(const WeightVersion& version, const Group& group) const;
  void Accumulate(Group& group, const std::vector<torch::Tensor>& grads);
  void NoteLiveVersions();
  void NoteDriftPerGroup(const InFlight& f);

  StageWorkerOptions options_;
  std::shared_ptr<WeightVersion> current_;
  std::vector<Group> groups_;
  std::vector<torch::Tensor> grad_sum_;  // per leaf
  int version_ = 0;
  std::vector<torch::Tensor> update_velocity_;
  std::unordered_map<int, InFlight> inflight_;
  int max_live_versions_ = 1;
  int max_drift_ = 0;
  std::vector<int> max_drift_per_group_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_STAGE_WORKER_H_
