// How a schedule drives one rank: the interface every backend (simulator, single-process executor,
// distributed runtime) calls, whether the schedule is a fixed list or a policy.
//
// A backend asks `Next` whenever the rank is idle. The program answers with the action it wants to
// run, `kWait` to sleep until more input arrives, or `kDone`. A fixed list simply returns its next
// entry, and the backend holds the rank until that entry's input has arrived; a policy (PACI) looks
// at what has arrived and picks among ready actions. The backend calls `Started` once it begins the
// chosen action, so programs keep their own counters.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_RANK_PROGRAM_H_
#define PIPEBENCH_ENGINE_SCHEDULE_RANK_PROGRAM_H_

#include <cstdint>

#include "engine/schedule/action.h"

namespace pipebench {

// What a rank can observe about its inputs. Implemented by each backend.
class RankView {
 public:
  virtual ~RankView() = default;
  // The forward input of (chunk, microbatch) is here: stage 0 always has data; later stages need
  // the upstream activation.
  virtual bool ForwardInputReady(int chunk, int microbatch) const = 0;
  // The gradient w.r.t. the output of (chunk, microbatch) is here: on the last stage, once the
  // forward ran; elsewhere, once the downstream gradient arrived.
  virtual bool BackwardInputReady(int chunk, int microbatch) const = 0;
};

// Two eightbytes, the action and the kind, so a program returns it in two registers (see Action):
// the kind is 64 bits wide for that reason only.
struct Decision {
  enum class Kind : std::uint64_t { kRun, kWait, kDone };
  Action action;
  Kind kind = Kind::kWait;

  static Decision Run(Action a) { return {a, Kind::kRun}; }
  static Decision Wait() { return {Action(), Kind::kWait}; }
  static Decision Done() { return {Action(), Kind::kDone}; }
};

class RankProgram {
 public:
  virtual ~RankProgram() = default;
  virtual Decision Next(const RankView& view) = 0;
  virtual void Started(const Action& action) = 0;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_RANK_PROGRAM_H_
