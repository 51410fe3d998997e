#include "engine/exec/optimizer.h"

#include <algorithm>
#include <cmath>

namespace pipebench {

OptimizerConfig ConfigForRun(double learning_rate, int steps) {
  OptimizerConfig config;
  config.learning_rate = learning_rate;
  config.warmup_steps = std::max(1, steps / 20);
  config.total_steps = steps;
  return config;
}

double ClipGradientNorm(std::vector<torch::Tensor>& grads, double max_norm) {
  torch::NoGradGuard no_grad;
  double squares = 0;
  for (const torch::Tensor& g : grads) {
    if (g.defined()) squares += g.pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(squares);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    for (torch::Tensor& g : grads) {
      if (g.defined()) g = g * scale;
    }
  }
  return norm;
}

std::vector<bool> DecayMatricesOnly(const std::vector<torch::Tensor>& params) {
  std::vector<bool> decay;
  for (const torch::Tensor& p : params) decay.push_back(p.dim() >= 2);
  return decay;
}

double LearningRate(const OptimizerConfig& config, int step) {
  if (config.warmup_steps > 0 && step < config.warmup_steps) {
    return config.learning_rate * (step + 1) / config.warmup_steps;
  }
  const int decay_steps = std::max(1, config.total_steps - config.warmup_steps);
  const double progress = std::min(1.0, double(step - config.warmup_steps) / decay_steps);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return config.learning_rate * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine);
}

void AdamW::Step(const std::vector<torch::Tensor>& values, const std::vector<torch::Tensor>& grads,
                 double lr) {
  torch::NoGradGuard no_grad;
  if (first_moment_.empty()) {
    for (const torch::Tensor& v : values) {
      first_moment_.push_back(torch::zeros_like(v));
      second_moment_.push_back(torch::zeros_like(v));
    }
  }
  ++steps_;
  const double bias1 = 1.0 - std::pow(config_.beta1, steps_);
  const double bias2 = 1.0 - std::pow(config_.beta2, steps_);
  // Adam steps the bias-corrected first moment; NAdamW a Nesterov mix of the gradient (weight
  // (1 - mu_t) / (1 - mu_1..t)) and the first moment (mu_{t+1} / (1 - mu_1..t+1)).
  double gradient_step = 0;
  double moment_step = lr / bias1;
  if (config_.nesterov) {
    auto mu = [&](int t) {
      return config_.beta1 * (1.0 - 0.5 * std::pow(0.96, t * config_.momentum_decay));
    };
    momentum_product_ *= mu(steps_);
    gradient_step = lr * (1.0 - mu(steps_)) / (1.0 - momentum_product_);
    moment_step = lr * mu(steps_ + 1) / (1.0 - momentum_product_ * mu(steps_ + 1));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!grads[i].defined()) continue;  // no gradient reached it: left alone, as PyTorch does
    torch::Tensor value = values[i];
    if (decay_mask_[i] && config_.weight_decay > 0) value.mul_(1.0 - lr * config_.weight_decay);
    first_moment_[i].mul_(config_.beta1).add_(grads[i], 1.0 - config_.beta1);
    second_moment_[i].mul_(config_.beta2).addcmul_(grads[i], grads[i], 1.0 - config_.beta2);
    const torch::Tensor denominator =
        (second_moment_[i] / bias2).sqrt_().add_(config_.epsilon);
    if (config_.nesterov) value.addcdiv_(grads[i], denominator, -gradient_step);
    value.addcdiv_(first_moment_[i], denominator, -moment_step);
  }
}

}  // namespace pipebench
