// Naive asynchronous pipelining: 1F1B with no flush, an update after every backward and a single
// weight copy, so a backward at stage s runs on weights p-s-1 updates newer than its forward's.
// The lower bound on what asynchrony costs when nothing corrects for it.
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

absl::StatusOr<std::unique_ptr<Schedule>> MakeAsyncNaive(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("async_naive", params));
  return MakeScheduleFromSpec(
      params, {.name = "async_naive",
               .synchronous = false,
               .drift_bound = [](const ScheduleParams& p, int rank) { return p.stages - rank - 1; },
               .make_program = [](const ScheduleParams& p, int rank) {
                 return ContinuousOneFOneB(p, rank, /*update_every=*/1);
               }});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("async_naive", MakeAsyncNaive);

}  // namespace pipebench
