// 1F1B with a flush (PipeDream-Flush, Megatron's non-interleaved schedule): per mini-batch, stage s
// runs p-s-1 warmup forwards, alternates forward and backward, drains, then updates. At most
// min(p-s, m) activations in flight; one weight version per batch.
#include <memory>
#include <vector>

#include "engine/schedule/one_f_one_b_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> OneFOneBFlushProgram(const ScheduleParams& params, int rank) {
  const int m = params.microbatches;
  std::vector<Action> actions;
  actions.reserve(params.batches * (2 * m + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    AppendOneFOneB(batch * m, m, OneFOneBWarmup(params.stages, rank, m), /*update_every=*/0,
                   &actions);
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
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
