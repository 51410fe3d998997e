// A fixed, per-rank list of actions, run in order (GPipe, 1F1B, interleaved 1F1B, PipeDream...).
#ifndef PIPEBENCH_ENGINE_SCHEDULE_STATIC_PROGRAM_H_
#define PIPEBENCH_ENGINE_SCHEDULE_STATIC_PROGRAM_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "engine/schedule/action.h"
#include "engine/schedule/rank_program.h"

namespace pipebench {

class StaticProgram : public RankProgram {
 public:
  explicit StaticProgram(std::vector<Action> actions) : actions_(std::move(actions)) {}

  Decision Next(const RankView&) override {
    return cursor_ < actions_.size() ? Decision::Run(actions_[cursor_]) : Decision::Done();
  }
  void Started(const Action&) override { ++cursor_; }

  const std::vector<Action>& actions() const { return actions_; }

 private:
  std::vector<Action> actions_;
  std::size_t cursor_ = 0;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_STATIC_PROGRAM_H_
