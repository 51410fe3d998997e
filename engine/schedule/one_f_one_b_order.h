// The one-forward-one-backward order that 1F1B-flush, PipeDream, PipeDream-2BW, PipeMare and
// naive async all share: `warmup` forwards, then alternate forward and backward, then drain the
// remaining backwards. They differ only in warmup depth, batch boundaries and update cadence.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_
#define PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_

#include <memory>

#include "engine/schedule/action.h"
#include "engine/schedule/params.h"
#include "engine/schedule/rank_program.h"

namespace pipebench {

// The 1F1B order over `segments` consecutive runs of `count` micro-batches each, produced one
// action at a time rather than listed (a 1024-stage run of 4096 micro-batches would otherwise hold
// 8k actions per rank). Within a segment: min(warmup, count) forwards, then forward/backward
// pairs, then the remaining backwards. With `update_every` > 0 an optimizer step follows every
// `update_every`-th backward of a segment, and one more closes a segment whose count it does not
// divide; with 0, one step closes every segment (a flush).
class OneFOneBProgram : public RankProgram {
 public:
  OneFOneBProgram(int segments, int count, int warmup, int update_every);

  Decision Next(const RankView& view) override;
  void Started(const Action& action) override;

 private:
  const int segments_;
  const int count_;
  const int warmup_;
  const int update_every_;
  int segment_ = 0;
  int forwards_ = 0;   // in this segment
  int backwards_ = 0;  // in this segment
  bool update_due_ = false;
};

// Warmup depth of non-interleaved 1F1B at `rank`: p - rank - 1 forwards, at most `count`.
int OneFOneBWarmup(int stages, int rank, int count);

// 1F1B without a flush over all micro-batches of the run, as the asynchronous schedules run it,
// with an optimizer step after every `update_every` backwards (and one closing the run).
std::unique_ptr<RankProgram> ContinuousOneFOneB(const ScheduleParams& params, int rank,
                                                int update_every);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_ONE_F_ONE_B_ORDER_H_
