// A pipeline schedule: which rank runs which action when, and which weights each action uses.
//
// Each schedule lives in its own file, registers itself by name (see registry.h), and is the only
// code that knows its rules. Backends see it only through this interface:
//  - `MakeProgram(rank)` drives one rank (a fixed list or a policy, see rank_program.h);
//  - `weight_semantics()` says which weight version a backward pass uses;
//  - `DriftBound(rank)` is the schedule's promise on how many optimizer updates a micro-batch may
//    cross between its forward and its backward at that rank (PipeMare's per-stage delay).
// Model stage g (0 <= g < p*v) lives on rank g % p as local chunk g / p.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_
#define PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_

#include <memory>
#include <string>

#include "engine/schedule/params.h"
#include "engine/schedule/rank_program.h"

namespace pipebench {

enum class WeightSemantics {
  // One copy of the weights; every pass uses whatever the rank holds when it runs (synchronous
  // schedules, where the copy cannot change mid-batch; PACI, PipeMare and naive async, where it can).
  kCurrent,
  // Backward uses the version its forward used, kept as a stashed copy (PipeDream).
  kStashed,
  // Like kStashed, but the schedule guarantees at most two live versions (PipeDream-2BW).
  kDoubleBuffered,
};

const char* WeightSemanticsName(WeightSemantics semantics);

class Schedule {
 public:
  explicit Schedule(ScheduleParams params) : params_(params) {}
  virtual ~Schedule() = default;

  virtual std::string name() const = 0;
  virtual WeightSemantics weight_semantics() const = 0;
  // True when backward runs as separate input-gradient and weight-gradient actions.
  virtual bool splits_backward() const { return false; }
  // True when all micro-batches of a mini-batch see one weight version (a flush per batch).
  virtual bool synchronous() const = 0;
  // True when the optimizer should correct for each stage's delay DriftBound(rank), PipeMare's
  // way: a learning-rate warmup stretched by the delay, and backward weights extrapolated back
  // toward the forward's along the recent update direction.
  virtual bool compensates_delay() const { return false; }
  virtual int DriftBound(int rank) const = 0;
  virtual std::unique_ptr<RankProgram> MakeProgram(int rank) const = 0;

  const ScheduleParams& params() const { return params_; }
  int RankOfStage(int model_stage) const { return model_stage % params_.stages; }
  int StageOf(int rank, int chunk) const { return chunk * params_.stages + rank; }

 private:
  ScheduleParams params_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_
