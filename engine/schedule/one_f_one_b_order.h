// The one-forward-one-backward order that 1F1B-flush, PipeDream, PipeDream-2BW, PipeMare and
// naive async all share: `warmup` forwards, then alternate forward and backward, then drain the
// remaining backwards. They differ only in warmup depth, batch boundaries and update cadence.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_
#define PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_

#include <memory>
#include <vector>

#include "engine/schedule/action.h"
#include "engine/schedule/params.h"
#include "engine/schedule/static_program.h"

namespace pipebench {

// Appends the 1F1B order over micro-batches [first, first + count) to `out`. When `update_every`
// is positive, an optimizer step follows every `update_every`-th backward of this call.
void AppendOneFOneB(int first, int count, int warmup, int update_every, std::vector<Action>* out);

// Warmup depth of non-interleaved 1F1B at `rank`: p - rank - 1 forwards, at most `count`.
int OneFOneBWarmup(int stages, int rank, int count);

// 1F1B without a flush over all micro-batches of the run, as the asynchronous schedules run it,
// with an optimizer step after every `update_every` backwards.
std::unique_ptr<StaticProgram> ContinuousOneFOneB(const ScheduleParams& params, int rank,
                                                  int update_every);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_
