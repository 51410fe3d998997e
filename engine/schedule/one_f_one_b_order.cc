#include "engine/schedule/one_f_one_b_order.h"

#include <algorithm>
#include <utility>

namespace pipebench {

void AppendOneFOneB(int first, int count, int warmup, int update_every, std::vector<Action>* out) {
  warmup = std::clamp(warmup, 0, count);
  int backwards = 0;
  auto backward = [&](int index) {
    out->push_back(Action::Backward(first + index));
    ++backwards;
    if (update_every > 0 && backwards % update_every == 0) {
      out->push_back(Action::OptimizerStep());
    }
  };
  for (int i = 0; i < warmup; ++i) out->push_back(Action::Forward(first + i));
  for (int i = 0; i < count - warmup; ++i) {
    out->push_back(Action::Forward(first + warmup + i));
    backward(i);
  }
  for (int i = count - warmup; i < count; ++i) backward(i);
}

std::unique_ptr<StaticProgram> ContinuousOneFOneB(const ScheduleParams& params, int rank,
                                                  int update_every) {
  const int total = params.total_microbatches();
  std::vector<Action> actions;
  actions.reserve(2 * total + total / update_every + 1);
  AppendOneFOneB(0, total, OneFOneBWarmup(params.stages, rank, total), update_every, &actions);
  if (total % update_every != 0) actions.push_back(Action::OptimizerStep());
  return std::make_unique<StaticProgram>(std::move(actions));
}

int OneFOneBWarmup(int stages, int rank, int count) {
  return std::clamp(stages - rank - 1, 0, count);
}

}  // namespace pipebench
