#include "engine/schedule/one_f_one_b_order.h"

#include <algorithm>

namespace pipebench {

OneFOneBProgram::OneFOneBProgram(int segments, int count, int warmup, int update_every)
    : segments_(segments),
      count_(count),
      warmup_(std::clamp(warmup, 0, count)),
      update_every_(update_every) {}

Decision OneFOneBProgram::Next(const RankView&) {
  if (segment_ >= segments_) return Decision::Done();
  if (update_due_) return Decision::Run(Action::OptimizerStep());
  const int first = segment_ * count_;
  if (forwards_ < warmup_) return Decision::Run(Action::Forward(first + forwards_));
  if (forwards_ < count_) {
    // Steady state: F(warmup + i) then B(i).
    return forwards_ - warmup_ == backwards_ ? Decision::Run(Action::Forward(first + forwards_))
                                             : Decision::Run(Action::Backward(first + backwards_));
  }
  return Decision::Run(Action::Backward(first + backwards_));
}

void OneFOneBProgram::Started(const Action& action) {
  switch (action.type) {
    case ActionType::kForward:
      ++forwards_;
      break;
    case ActionType::kBackward:
      ++backwards_;
      update_due_ = update_every_ > 0 ? backwards_ % update_every_ == 0 ||
                                            (backwards_ == count_ && count_ % update_every_ != 0)
                                      : backwards_ == count_;
      break;
    case ActionType::kOptimizerStep:
      update_due_ = false;
      break;
    default:
      break;
  }
  if (backwards_ == count_ && !update_due_) {  // the segment is over, its closing step included
    ++segment_;
    forwards_ = backwards_ = 0;
  }
}

std::unique_ptr<RankProgram> ContinuousOneFOneB(const ScheduleParams& params, int rank,
                                                int update_every) {
  const int total = params.total_microbatches();
  return std::make_unique<OneFOneBProgram>(1, total, OneFOneBWarmup(params.stages, rank, total),
                                           update_every);
}

int OneFOneBWarmup(int stages, int rank, int count) {
  return std::clamp(stages - rank - 1, 0, count);
}

}  // namespace pipebench
