// AdamW with decoupled weight decay (or its Nesterov form, NAdamW) and a warmup + cosine
// learning-rate schedule, over explicit tensors. Each pipeline stage owns one, stepped on the stage's own clock (PACI steps its schedule
// per local optimizer step).
#ifndef PIPEBENCH_ENGINE_EXEC_OPTIMIZER_H_
#define PIPEBENCH_ENGINE_EXEC_OPTIMIZER_H_

#include <torch/torch.h>

#include <vector>

namespace pipebench {

struct OptimizerConfig {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double epsilon = 1e-8;
  double weight_decay = 0.1;
  int warmup_steps = 10;
  // Cosine reaches min_lr_ratio * learning_rate here. The executor reads 0 as "the number of
  // optimizer steps this stage takes in the run", which differs by schedule (and for PACI by a).
  int total_steps = 1000;
  double min_lr_ratio = 0.1;
  // NAdamW, as torch.optim.NAdam(decoupled_weight_decay=True) computes it: at step t the update
  // mixes the gradient and the first moment with Nesterov's weights, the momentum coefficient
  // warming up as mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)).
  bool nesterov = false;
  double momentum_decay = 0.004;
};

// Linear warmup to the peak over warmup_steps, then cosine decay to min_lr_ratio of it.
double LearningRate(const OptimizerConfig& config, int step);

// A run of `steps` updates peaking at `learning_rate`, warming up over its first 5% (>= 1 step).
OptimizerConfig ConfigForRun(double learning_rate, int steps);

// Scales `grads` in place so their joint L2 norm is at most `max_norm` (torch's
// clip_grad_norm_); returns the norm before clipping. Undefined gradients count as zero.
double ClipGradientNorm(std::vector<torch::Tensor>& grads, double max_norm);

// Weight decay on matrices and embeddings (rank >= 2), not on biases and norm gains.
std::vector<bool> DecayMatricesOnly(const std::vector<torch::Tensor>& params);

class AdamW {
 public:
  AdamW(const OptimizerConfig& config, std::vector<bool> decay_mask)
      : config_(config), decay_mask_(std::move(decay_mask)) {}

  // Updates `values` in place (plain tensors: no autograd history) from `grads` at `lr`; a value
  // whose gradient is undefined is skipped.
  void Step(const std::vector<torch::Tensor>& values, const std::vector<torch::Tensor>& grads,
            double lr);

  int steps() const { return steps_; }

 private:
  OptimizerConfig config_;
  std::vector<bool> decay_mask_;
  std::vector<torch::Tensor> first_moment_;
  std::vector<torch::Tensor> second_moment_;
  int steps_ = 0;
  double momentum_product_ = 1.0;  // NAdamW: mu_1 * ... * mu_t
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_OPTIMIZER_H_
