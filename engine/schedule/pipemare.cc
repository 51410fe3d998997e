// PipeMare (Yang et al., MLSys 2021): asynchronous 1F1B with no flush, an update after every
// backward and no weight stashing. Its two corrections are keyed by each stage's delay, the
// p - rank - 1 updates a micro-batch crosses there (DriftBound):
//  - learning-rate rescheduling: a stage with delay tau starts at 1/(tau+1) of the scheduled rate
//    and ramps linearly to the full rate over the warmup steps (this project's reading of the
//    paper's per-stage warmup);
//  - discrepancy correction: backward weights are pulled back tau updates along an exponential
//    moving average (decay 0.9) of the stage's recent updates, toward the weights its forward saw.
#include <algorithm>
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

int Delay(const ScheduleParams& p, int rank) { return p.stages - rank - 1; }

WeightPolicy PipeMareWeights(const ScheduleParams& p, int model_stage) {
  const int delay = Delay(p, model_stage % p.stages);
  WeightPolicy policy;
  if (delay == 0) return policy;
  policy.backward_extrapolation = delay;
  policy.velocity_decay = 0.9;
  policy.learning_rate_scale = [delay](int step, int warmup_steps) {
    if (warmup_steps <= 0) return 1.0;
    const double start = 1.0 / (delay + 1);
    return start + (1.0 - start) * std::min(1.0, double(step) / warmup_steps);
  };
  return policy;
}

absl::StatusOr<std::unique_ptr<Schedule>> MakePipeMare(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("pipemare", params));
  return MakeScheduleFromSpec(
      params, {.name = "pipemare",
               .synchronous = false,
               .drift_bound = Delay,
               .weight_policy = PipeMareWeights,
               .make_program = [](const ScheduleParams& p, int rank) {
                 return ContinuousOneFOneB(p, rank, /*update_every=*/1);
               }});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("pipemare", MakePipeMare);

}  // namespace pipebench
