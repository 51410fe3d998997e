// Declares a schedule as data, so that a schedule's file holds only its rules:
//
//   absl::StatusOr<std::unique_ptr<Schedule>> MakeGPipe(const ScheduleParams& params) {
//     return MakeScheduleFromSpec(params, {.name = "gpipe", ..., .make_program = GPipeProgram});
//   }
#ifndef PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_SPEC_H_
#define PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_SPEC_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "engine/schedule/params.h"
#include "engine/schedule/placement.h"
#include "engine/schedule/rank_program.h"
#include "engine/schedule/schedule.h"

namespace pipebench {

struct ScheduleSpec {
  std::string name;
  bool synchronous = true;
  bool splits_backward = false;
  bool plans_from_costs = false;
  // Where its stages live (placement.h), given ranks and chunks: Placement::Looped,
  // Placement::V, or a fixed table.
  std::function<Placement(int ranks, int chunks)> placement = Placement::Looped;
  // Updates a micro-batch may cross between forward and backward at `rank`.
  std::function<int(const ScheduleParams&, int rank)> drift_bound;
  // The weight rules of `model_stage`; unset: one copy, updates as the optimizer schedules them.
  std::function<WeightPolicy(const ScheduleParams&, int model_stage)> weight_policy;
  std::function<std::unique_ptr<RankProgram>(const ScheduleParams&, int rank)> make_program;
};

std::unique_ptr<Schedule> MakeScheduleFromSpec(const ScheduleParams& params, ScheduleSpec spec);

// InvalidArgument unless params.chunks == `chunks`, saying `why` the schedule needs that many.
absl::Status RequireChunks(const std::string& schedule, const ScheduleParams& params, int chunks,
                           const std::string& why);

// RequireChunks(schedule, params, 1, ...): a schedule that holds one model stage per rank.
absl::Status RequireSingleChunk(const std::string& schedule, const ScheduleParams& params);

// InvalidArgument unless m >= p, for schedules whose steady state needs a full pipeline per batch.
absl::Status RequireMicrobatchesAtLeastStages(const std::string& schedule,
                                              const ScheduleParams& params);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_SCHEDULE_SPEC_H_
