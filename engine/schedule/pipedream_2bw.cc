// PipeDream-2BW (Narayanan et al., ICML 2021): 1F1B with no flush; each stage updates once per m
// of its backwards. Forwards use the newest version and backwards the version their forward used,
// and since m >= p no micro-batch crosses more than one update: two weight buffers suffice, and
// the update is W(t+1) = W(t) - lr * grad(W(t-1)).
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

absl::StatusOr<std::unique_ptr<Schedule>> MakePipeDream2BW(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("pipedream_2bw", params));
  PB_RETURN_IF_ERROR(RequireMicrobatchesAtLeastStages("pipedream_2bw", params));
  return MakeScheduleFromSpec(
      params, {.name = "pipedream_2bw",
               .synchronous = false,
               .drift_bound = [](const ScheduleParams& p, int rank) {
                 return rank == p.stages - 1 ? 0 : 1;
               },
               .weight_policy = [](const ScheduleParams&, int) {
                 return WeightPolicy{.stash = true, .max_versions = 2};
               },
               .make_program = [](const ScheduleParams& p, int rank) {
                 return ContinuousOneFOneB(p, rank, /*update_every=*/p.microbatches);
               }});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("pipedream_2bw", MakePipeDream2BW);

}  // namespace pipebench
