#include "engine/runtime/rank_driver.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {

RankDriver::RankDriver(const Schedule& schedule, int rank)
    : schedule_(schedule),
      rank_(rank),
      chunks_(schedule.params().chunks),
      total_(schedule.params().total_microbatches()),
      model_stages_(schedule.params().model_stages()),
      action_limit_(4LL * schedule.params().chunks * schedule.params().total_microbatches() +
                    2LL * schedule.params().total_microbatches() + 16),
      program_(schedule.MakeProgram(rank)),
      flags_(static_cast<std::size_t>(chunks_) * total_, 0) {}

bool RankDriver::ForwardInputReady(int chunk, int microbatch) const {
  return InRange(chunk, microbatch) && ForwardReady(chunk, flag(chunk, microbatch));
}

bool RankDriver::BackwardInputReady(int chunk, int microbatch) const {
  return InRange(chunk, microbatch) && BackwardReady(chunk, flag(chunk, microbatch));
}

std::string RankDriver::Describe(const Action& action) const {
  std::string text =
      absl::StrCat("rank ", rank_, " action #", started_, " '", ToString(action), "'");
  if (action.type != ActionType::kOptimizerStep && InRange(action.chunk, action.microbatch)) {
    absl::StrAppend(&text, " (stage ", schedule_.StageOf(rank_, action.chunk), ", micro-batch ",
                    action.microbatch, ")");
  }
  return text;
}

// Inlined into Poll, which the simulator calls once per simulated action.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline RankDriver::Violation RankDriver::Violates(
    const Action& action) const {
  if (action.type == ActionType::kOptimizerStep) return Violation::kNone;
  if (!IsCompute(action.type)) return Violation::kCommunication;
  if (action.chunk < 0 || action.chunk >= chunks_) return Violation::kChunkOutOfRange;
  if (action.microbatch < 0 || action.microbatch >= total_) {
    return Violation::kMicrobatchOutOfRange;
  }
  const std::uint8_t f = flag(action.chunk, action.microbatch);
  switch (action.type) {
    case ActionType::kForward:
      if (f & kForwardStarted) return Violation::kForwardTwice;
      break;
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      if (!(f & kForwardStarted)) return Violation::kBackwardBeforeForward;
      if (f & kBackwardStarted) return Violation::kBackwardTwice;
      break;
    case ActionType::kBackwardWeight:
      if (!(f & kBackwardStarted)) return Violation::kWeightBeforeInputGradient;
      if (f & kWeightStarted) return Violation::kWeightTwice;
      break;
    default:
      break;
  }
  return Violation::kNone;
}

RankDriver::Step RankDriver::Fail(const Action& action, Violation violation) {
  auto error = [&](const auto&... what) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(action), ": ", what...));
  };
  switch (violation) {
    case Violation::kNone:  // callers pass a violation; never leave kError with an OK error()
      error_ = absl::InternalError(absl::StrCat(Describe(action), ": failed without a violation"));
      break;
    case Violation::kCommunication:
      error_ = error("schedules emit compute actions and optimizer steps only; communication "
                     "follows from them");
      break;
    case Violation::kChunkOutOfRange:
      error_ = error("chunk ", action.chunk, " is outside [0, ", chunks_, ")");
      break;
    case Violation::kMicrobatchOutOfRange:
      error_ = error("micro-batch ", action.microbatch, " is outside [0, ", total_, ")");
      break;
    case Violation::kForwardTwice:
      error_ = error("forward runs a second time");
      break;
    case Violation::kBackwardBeforeForward:
      error_ = error("backward before its forward");
      break;
    case Violation::kBackwardTwice:
      error_ = error("backward runs a second time");
      break;
    case Violation::kWeightBeforeInputGradient:
      error_ = error("weight gradient before its input gradient");
      break;
    case Violation::kWeightTwice:
      error_ = error("weight gradient runs a second time");
      break;
    case Violation::kActionLimit:
      error_ = absl::InvalidArgumentError(
          absl::StrCat(schedule_.name(), ": rank ", rank_, " issued more than ", action_limit_,
                       " actions; its program does not terminate"));
      break;
  }
  return Step{Action(), Step::Kind::kError};
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool RankDriver::Ready(const Action& action) const {
  switch (action.type) {
    case ActionType::kForward:
      return ForwardReady(action.chunk, flag(action.chunk, action.microbatch));
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      return BackwardReady(action.chunk, flag(action.chunk, action.microbatch));
    default:
      return true;  // W follows its own I on this rank; U needs nothing
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void RankDriver::MarkStarted(const Action& action) {
  switch (action.type) {
    case ActionType::kForward:
      flag(action.chunk, action.microbatch) |= kForwardStarted;
      break;
    case ActionType::kBackward:
      flag(action.chunk, action.microbatch) |= kBackwardStarted | kWeightStarted;
      break;
    case ActionType::kBackwardInput:
      flag(action.chunk, action.microbatch) |= kBackwardStarted;
      break;
    case ActionType::kBackwardWeight:
      flag(action.chunk, action.microbatch) |= kWeightStarted;
      break;
    case ActionType::kOptimizerStep:
      ++optimizer_steps_;
      break;
    default:
      break;
  }
}

RankDriver::Step RankDriver::Poll() {
  if (!error_.ok()) return Step{Action(), Step::Kind::kError};
  if (done_) return Step{Action(), Step::Kind::kDone};
  const Decision decision = program_->Next(*this);
  blocked_ = false;
  switch (decision.kind) {
    case Decision::Kind::kDone:
      done_ = true;
      return Step{Action(), Step::Kind::kDone};
    case Decision::Kind::kWait:
      return Step{Action(), Step::Kind::kWait};
    case Decision::Kind::kRun:
      break;
  }
  const Action action = decision.action;
  if (const Violation violation = Violates(action); violation != Violation::kNone) {
    return Fail(action, violation);
  }
  if (!Ready(action)) {
    blocked_ = true;
    blocked_action_ = action;
    return Step{action, Step::Kind::kBlocked};
  }
  if (started_ >= action_limit_) return Fail(action, Violation::kActionLimit);
  MarkStarted(action);
  program_->Started(action);
  ++started_;
  return Step{action, Step::Kind::kStart};
}

void RankDriver::Finished(const Action& action) {
  switch (action.type) {
    case ActionType::kForward:
      flag(action.chunk, action.microbatch) |= kForwardDone;
      break;
    case ActionType::kBackward:
      flag(action.chunk, action.microbatch) |= kBackwardDone | kWeightDone;
      break;
    case ActionType::kBackwardInput:
      flag(action.chunk, action.microbatch) |= kBackwardDone;
      break;
    case ActionType::kBackwardWeight:
      flag(action.chunk, action.microbatch) |= kWeightDone;
      break;
    default:
      break;
  }
}

std::string RankDriver::Stuck() const {
  if (!blocked_) return absl::StrCat("rank ", rank_, " has no runnable action");
  const int stage = schedule_.StageOf(rank_, blocked_action_.chunk);
  const bool forward = blocked_action_.type == ActionType::kForward;
  return absl::StrCat(Describe(blocked_action_), " waits for the ",
                      forward ? "activation from stage " : "gradient from stage ",
                      forward ? stage - 1 : stage + 1);
}

absl::Status RankDriver::CheckEverythingRan() const {
  for (int chunk = 0; chunk < chunks_; ++chunk) {
    for (int mb = 0; mb < total_; ++mb) {
      const std::uint8_t f = flag(chunk, mb);
      const char* missing = !(f & kForwardDone)    ? "forward"
                            : !(f & kBackwardDone) ? "backward"
                            : !(f & kWeightDone)   ? "weight gradient"
                                                   : nullptr;
      if (missing != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            schedule_.name(), ": micro-batch ", mb, " never ran its ", missing, " at stage ",
            schedule_.StageOf(rank_, chunk), " (rank ", rank_, ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> OptimizerStepsPerRank(const Schedule& schedule) {
  const int p = schedule.params().stages;
  const int model_stages = schedule.params().model_stages();
  std::vector<std::unique_ptr<RankDriver>> drivers;
  for (int rank = 0; rank < p; ++rank) {
    drivers.push_back(std::make_unique<RankDriver>(schedule, rank));
  }
  // Round robin: each rank runs until it blocks; an action's outputs reach the neighbour at once.
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& driver : drivers) {
      while (true) {
        const RankDriver::Step step = driver->Poll();
        if (step.kind == RankDriver::Step::Kind::kError) return driver->error();
        if (step.kind != RankDriver::Step::Kind::kStart) break;
        progress = true;
        const Action& a = step.action;
        driver->Finished(a);
        const int stage = schedule.StageOf(driver->rank(), a.chunk);
        if (a.type == ActionType::kForward && stage + 1 < model_stages) {
          drivers[schedule.RankOfStage(stage + 1)]->ActivationArrived(
              schedule.ChunkOfStage(stage + 1), a.microbatch);
        } else if (IsBackwardPass(a.type) && stage > 0) {
          drivers[schedule.RankOfStage(stage - 1)]->GradientArrived(
              schedule.ChunkOfStage(stage - 1), a.microbatch);
        }
      }
    }
  }
  std::vector<std::string> stuck;
  std::vector<int> steps;
  for (const auto& driver : drivers) {
    if (!driver->done()) stuck.push_back(driver->Stuck());
    steps.push_back(driver->optimizer_steps());
  }
  if (!stuck.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(schedule.name(), " deadlocks: ", absl::StrJoin(stuck, "; ")));
  }
  for (const auto& driver : drivers) {
    if (absl::Status status = driver->CheckEverythingRan(); !status.ok()) return status;
  }
  return steps;
}

}  // namespace pipebench
