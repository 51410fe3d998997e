// 1F1B with a flush (PipeDream-Flush, Megatron's non-interleaved schedule): per mini-batch, stage s
// runs p-s-1 warmup forwards, alternates forward and backward, drains, then updates. At most
// min(p-s, m) activations in flight; one weight version per batch.
#include <memory>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

// One 1F1B segment per mini-batch, each closed by the update (update_every 0).
std::unique_ptr<RankProgram> OneFOneBFlushProgram(const ScheduleParams& params, int rank) {
  const int m = params.microbatches;
  return std::make_unique<OneFOneBProgram>(params.batches, m,
                                           OneFOneBWarmup(params.stages, rank, m),
                                           /*update_every=*/0);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeOneFOneBFlush(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("1f1b_flush", params));
  return MakeScheduleFromSpec(params, {.name = "1f1b_flush",
                                       .synchronous = true,
                                       .make_program = OneFOneBFlushProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("1f1b_flush", MakeOneFOneBFlush);

}  // namespace pipebench
