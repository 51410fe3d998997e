// One rank's side of running a schedule, written once for every backend.
//
// The simulator, the single-process executor (which replays the simulator's dispatch order) and
// the distributed runtime all run a schedule the same way: when a rank is idle, ask its program
// for the next action, check the action against what the rank has done, and start it once its
// input is there. RankDriver is that loop's state and rules for one rank: the program, the
// progress of each (chunk, micro-batch) the rank holds, the readiness test programs see through
// RankView, the action checks and the action limit. Backends tell it when inputs arrive and
// actions finish; how time passes and how tensors travel stays theirs.
//
// Every failed check is an error naming the rank, the action and the stage (a poll returns kError
// and error() holds it): a micro-batch or chunk out of range, a backward before its forward, an
// action run twice, a communication action emitted by a schedule, a program that does not
// terminate; CheckEverythingRan names a micro-batch never finished.
#ifndef PIPEBENCH_ENGINE_RUNTIME_RANK_DRIVER_H_
#define PIPEBENCH_ENGINE_RUNTIME_RANK_DRIVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/schedule/action.h"
#include "engine/schedule/rank_program.h"
#include "engine/schedule/schedule.h"

namespace pipebench {

class RankDriver final : public RankView {
 public:
  // What the rank does next. Two eightbytes, returned in registers like a program's Decision:
  // the simulator polls once per simulated action.
  struct Step {
    enum class Kind : std::uint64_t {
      kStart,    // run `action` now: it passed the checks, its input is here, and the program
                 // has been told it started
      kBlocked,  // the program chose `action`, whose input has not arrived yet
      kWait,     // the program waits for input without naming an action
      kDone,     // the program has finished
      kError,    // the program chose an invalid action or does not terminate: see error()
    };
    Action action;
    Kind kind = Kind::kWait;
  };

  RankDriver(const Schedule& schedule, int rank);

  // Asks the program for its next action (a policy may change its mind on every call). After a
  // kError every poll returns kError again.
  Step Poll();
  // Why the last poll returned kError (naming the rank, the action and the stage); OK before.
  const absl::Status& error() const { return error_; }

  // Inputs, as the backend sees them arrive: the activation for held `chunk`'s forward, or the
  // gradient of its output.
  void ActivationArrived(int chunk, int microbatch) { flag(chunk, microbatch) |= kActivationIn; }
  void GradientArrived(int chunk, int microbatch) { flag(chunk, microbatch) |= kGradientIn; }
  // A started compute action has finished (its outputs are on their way).
  void Finished(const Action& action);

  bool ForwardInputReady(int chunk, int microbatch) const override;
  bool BackwardInputReady(int chunk, int microbatch) const override;

  int rank() const { return rank_; }
  bool done() const { return done_; }
  std::int64_t started() const { return started_; }
  int optimizer_steps() const { return optimizer_steps_; }

  // Why this rank cannot go on, for deadlock errors: "rank 1 action #3 'B2' (stage 1,
  // micro-batch 2) waits for the gradient from stage 2", or "rank 0 has no runnable action".
  std::string Stuck() const;
  // OK when every (chunk, micro-batch) this rank holds ran its forward, backward and weight
  // gradient; else an error naming the first that did not.
  absl::Status CheckEverythingRan() const;
  // "rank 1 action #3 'B2' (stage 1, micro-batch 2)".
  std::string Describe(const Action& action) const;

 private:
  enum Flag : std::uint8_t {
    kActivationIn = 1 << 0,
    kGradientIn = 1 << 1,
    kForwardStarted = 1 << 2,
    kForwardDone = 1 << 3,
    kBackwardStarted = 1 << 4,  // B or I
    kBackwardDone = 1 << 5,
    kWeightStarted = 1 << 6,    // W, or B (which includes it)
    kWeightDone = 1 << 7,
  };

  bool InRange(int chunk, int microbatch) const {
    return chunk >= 0 && chunk < chunks_ && microbatch >= 0 && microbatch < total_;
  }
  std::uint8_t& flag(int chunk, int microbatch) {
    return flags_[static_cast<std::size_t>(chunk) * total_ + microbatch];
  }
  std::uint8_t flag(int chunk, int microbatch) const {
    return flags_[static_cast<std::size_t>(chunk) * total_ + microbatch];
  }
  // The rules a schedule's action can break. Poll checks them on every action (the simulator
  // polls once per simulated action), so the check is a classification and the message is built
  // only for a violation.
  enum class Violation : std::uint8_t {
    kNone,
    kCommunication,
    kChunkOutOfRange,
    kMicrobatchOutOfRange,
    kForwardTwice,
    kBackwardBeforeForward,
    kBackwardTwice,
    kWeightBeforeInputGradient,
    kWeightTwice,
    kActionLimit,
  };
  // The rule `action` breaks, given what this rank has started (the action limit aside).
  Violation Violates(const Action& action) const;
  // Records the error naming `action` and `violation`, and returns kError.
  ABSL_ATTRIBUTE_NOINLINE Step Fail(const Action& action, Violation violation);
  // Whether the input of an in-range `action` is here.
  bool Ready(const Action& action) const;
  // The readiness rules, on the flags of (chunk, micro-batch): stage 0 always has data, later
  // stages need the upstream activation; the last stage's backward needs only its own forward
  // (the loss is computed there), earlier stages need the downstream gradient.
  bool ForwardReady(int chunk, std::uint8_t f) const {
    return schedule_.StageOf(rank_, chunk) == 0 || (f & kActivationIn) != 0;
  }
  bool BackwardReady(int chunk, std::uint8_t f) const {
    return schedule_.StageOf(rank_, chunk) == model_stages_ - 1 ? (f & kForwardDone) != 0
                                                                : (f & kGradientIn) != 0;
  }
  void MarkStarted(const Action& action);

  const Schedule& schedule_;
  const int rank_;
  const int chunks_;
  const int total_;
  const int model_stages_;
  // Each rank runs at most one forward, backward (or I and W) per held micro-batch plus updates;
  // a program that issues more is looping.
  const std::int64_t action_limit_;
  std::unique_ptr<RankProgram> program_;
  std::vector<std::uint8_t> flags_;  // [chunk * total + micro-batch]
  absl::Status error_;
  bool done_ = false;
  bool blocked_ = false;
  Action blocked_action_;
  std::int64_t started_ = 0;
  int optimizer_steps_ = 0;
};

// The optimizer steps each rank takes in a run of `schedule`, from its programs driven in a causal
// order with no clock (every action finishes as it starts): no costs, no event queue. Errors are
// the drivers' (an invalid action, a deadlock naming every stuck rank).
absl::StatusOr<std::vector<int>> OptimizerStepsPerRank(const Schedule& schedule);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_RUNTIME_RANK_DRIVER_H_
