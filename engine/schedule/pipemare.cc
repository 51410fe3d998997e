// PipeMare (Yang et al., MLSys 2021): asynchronous 1F1B with no flush, an update after every
// backward and no weight stashing. Its two corrections live on the optimizer side and are keyed by
// each stage's delay, which this schedule exposes as DriftBound(rank) = p - rank - 1 updates:
// learning-rate rescheduling (a per-stage warmup scaled by the delay) and discrepancy correction
// (backward weights extrapolated toward the forward's along the recent update direction).
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

absl::StatusOr<std::unique_ptr<Schedule>> MakePipeMare(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("pipemare", params));
  return MakeScheduleFromSpec(
      params, {.name = "pipemare",
               .weight_semantics = WeightSemantics::kCurrent,
               .synchronous = false,
               .compensates_delay = true,
               .drift_bound = [](const ScheduleParams& p, int rank) { return p.stages - rank - 1; },
               .make_program = [](const ScheduleParams& p, int rank) {
                 return ContinuousOneFOneB(p, rank, /*update_every=*/1);
               }});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("pipemare", MakePipeMare);

}  // namespace pipebench
