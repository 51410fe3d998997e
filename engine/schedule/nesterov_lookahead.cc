// Nesterov look-ahead for delayed gradients (Ajanthan et al., "Nesterov Method for Asynchronous
// Pipeline Parallel Optimization", ICML 2025, arXiv 2505.01099), as a weight rule any schedule
// takes on: "paci+nesterov", "pipedream_2bw+nesterov", "pipedream+nesterov".
//
// The paper's observation: Nesterov's accelerated gradient applies the momentum twice - once in
// the look-ahead, once in the step - so with a large momentum coefficient the step mostly follows
// the accumulated direction, which is where the weights are heading over the next updates, and a
// gradient computed some updates ago moves them less on its own. The authors' implementation is
// NAdamW (Dozat's Nesterov-Adam in torch.optim.NAdam's form, momentum decay 0.004, decoupled
// weight decay) with beta1 raised from 0.9 to 0.99 on every stage, on PipeDream's timeline with
// stashed weights. Ours is the same update (engine/exec/optimizer.h) at beta1 = 0.99, keeping
// the run's beta2, epsilon, weight decay and learning-rate schedule, on whichever timeline and
// weight versions the base schedule has: with PACI's one weight copy the gradient it corrects was
// computed on the current weights rather than stashed ones - the adaptation to our schedules.
//
// On a synchronous schedule ("1f1b_flush+nesterov") there is no delay to compensate; the rule is
// then the optimizer alone, the control that tells its effect on delay from its effect on any run.
#include "engine/schedule/registry.h"

namespace pipebench {
namespace {

// The authors' momentum for their method (run.bash: --momentum 0.99 --optimizer nadamw).
constexpr double kLookAheadBeta1 = 0.99;

absl::StatusOr<WeightPolicy> ApplyNesterovLookAhead(const Schedule&, WeightPolicy policy) {
  if (policy.nesterov_beta1 > 0) {
    return absl::InvalidArgumentError("the schedule already steps with Nesterov look-ahead");
  }
  policy.nesterov_beta1 = kLookAheadBeta1;
  return policy;
}

}  // namespace

PIPEBENCH_REGISTER_WEIGHT_RULE("nesterov", ApplyNesterovLookAhead);

}  // namespace pipebench
