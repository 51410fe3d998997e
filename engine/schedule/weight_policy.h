// A schedule's weight rules for one model stage: which weights a backward pass runs on, how many
// versions the schedule promises to keep, and how it adjusts each update. The schedule makes one
// per model stage (Schedule::weight_policy); the stage worker applies it to tensors and the
// simulator to its version and memory accounting, so no backend knows a schedule's rules.
// Plain numbers and flags, no tensors: schedules build without LibTorch.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_WEIGHT_POLICY_H_
#define PIPEBENCH_ENGINE_SCHEDULE_WEIGHT_POLICY_H_

#include <functional>
#include <string>

namespace pipebench {

struct WeightPolicy {
  // True: backward and weight-gradient passes run on the version their forward used, kept alive
  // until then (weight stashing). False: on the one copy as it is when the pass runs.
  bool stash = false;
  // The most weight versions the schedule promises a stage holds at once; 0: no promise.
  int max_versions = 0;
  // Multiplier on the optimizer's scheduled learning rate at optimizer step `step` (from 0) of a
  // run warming up over `warmup_steps`; unset: 1.
  std::function<double(int step, int warmup_steps)> learning_rate_scale;
  // Backward passes run on the weights pulled back this many updates along an exponential moving
  // average (decay `velocity_decay`) of the stage's recent updates - an estimate of the forward's
  // weights without stashing them; 0: no correction.
  double backward_extrapolation = 0;
  double velocity_decay = 0.9;
  // > 0: the stage steps with Nesterov-accelerated AdamW (NAdamW) at this first-moment decay
  // instead of AdamW's; the look-ahead rule for delayed gradients (nesterov_lookahead.cc).
  double nesterov_beta1 = 0;

  double LearningRateScale(int step, int warmup_steps) const {
    return learning_rate_scale ? learning_rate_scale(step, warmup_steps) : 1.0;
  }
  // "stashed", "one copy", "one copy, backward extrapolated 3 updates, scaled learning rate".
  std::string Describe() const;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_WEIGHT_POLICY_H_
