// A pipeline schedule: which rank runs which action when, and which weights each action uses.
//
// Each schedule lives in its own file, registers itself by name (see registry.h), and is the only
// code that knows its rules. Backends see it only through this interface:
//  - `MakeProgram(rank)` drives one rank (a fixed list or a policy, see rank_program.h);
//  - `weight_policy(model_stage)` holds its weight rules (which version a backward pass uses, how
//    updates are adjusted; see weight_policy.h);
//  - `DriftBound(rank)` is the schedule's promise on how many optimizer updates a micro-batch may
//    cross between its forward and its backward at that rank (PipeMare's per-stage delay).
// Where model stage g (0 <= g < p*v) lives is the schedule's placement (placement.h): looped
// (rank g % p, chunk g / p) unless the schedule says otherwise.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_
#define PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_

#include <memory>
#include <string>
#include <utility>

#include "engine/schedule/params.h"
#include "engine/schedule/placement.h"
#include "engine/schedule/rank_program.h"
#include "engine/schedule/weight_policy.h"

namespace pipebench {

class Schedule {
 public:
  explicit Schedule(ScheduleParams params)
      : Schedule(params, Placement::Looped(params.stages, params.chunks)) {}
  Schedule(ScheduleParams params, Placement placement)
      : params_(params), placement_(std::move(placement)) {}
  virtual ~Schedule() = default;

  virtual std::string name() const = 0;
  virtual WeightPolicy weight_policy(int model_stage) const = 0;
  // True when backward runs as separate input-gradient and weight-gradient actions.
  virtual bool splits_backward() const { return false; }
  // True when the order of actions is planned from ScheduleParams::costs (so every rank of a
  // distributed run must be given the same costs).
  virtual bool plans_from_costs() const { return false; }
  // True when all micro-batches of a mini-batch see one weight version (a flush per batch).
  virtual bool synchronous() const = 0;
  virtual int DriftBound(int rank) const = 0;
  virtual std::unique_ptr<RankProgram> MakeProgram(int rank) const = 0;

  const ScheduleParams& params() const { return params_; }
  const Placement& placement() const { return placement_; }
  int RankOfStage(int model_stage) const { return placement_.RankOf(model_stage); }
  int ChunkOfStage(int model_stage) const { return placement_.ChunkOf(model_stage); }
  int StageOf(int rank, int chunk) const { return placement_.StageOf(rank, chunk); }

 private:
  ScheduleParams params_;
  Placement placement_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_H_
