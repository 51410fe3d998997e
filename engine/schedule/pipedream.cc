// PipeDream (Narayanan et al., SOSP 2019): 1F1B with no flush and an update after every backward.
// Each backward runs on the weights its forward used, kept as a stashed copy, so stage s holds up
// to p-s weight versions while each micro-batch crosses p-s-1 updates between forward and backward.
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

absl::StatusOr<std::unique_ptr<Schedule>> MakePipeDream(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("pipedream", params));
  return MakeScheduleFromSpec(
      params, {.name = "pipedream",
               .synchronous = false,
               .drift_bound = [](const ScheduleParams& p, int rank) { return p.stages - rank - 1; },
               .weight_policy = [](const ScheduleParams& p, int stage) {
                 return WeightPolicy{.stash = true, .max_versions = p.stages - stage};
               },
               .make_program = [](const ScheduleParams& p, int rank) {
                 return ContinuousOneFOneB(p, rank, /*update_every=*/1);
               }});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("pipedream", MakePipeDream);

}  // namespace pipebench
