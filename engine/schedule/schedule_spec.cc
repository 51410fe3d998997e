#include "engine/schedule/schedule_spec.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

class SpecSchedule : public Schedule {
 public:
  SpecSchedule(const ScheduleParams& params, ScheduleSpec spec)
      : Schedule(params, spec.placement(params.stages, params.chunks)), spec_(std::move(spec)) {}

  std::string name() const override { return spec_.name; }
  WeightPolicy weight_policy(int model_stage) const override {
    return spec_.weight_policy ? spec_.weight_policy(params(), model_stage) : WeightPolicy();
  }
  bool splits_backward() const override { return spec_.splits_backward; }
  bool plans_from_costs() const override { return spec_.plans_from_costs; }
  bool synchronous() const override { return spec_.synchronous; }
  int DriftBound(int rank) const override {
    return spec_.drift_bound ? spec_.drift_bound(params(), rank) : 0;
  }
  std::unique_ptr<RankProgram> MakeProgram(int rank) const override {
    return spec_.make_program(params(), rank);
  }

 private:
  ScheduleSpec spec_;
};

}  // namespace

std::unique_ptr<Schedule> MakeScheduleFromSpec(const ScheduleParams& params, ScheduleSpec spec) {
  return std::make_unique<SpecSchedule>(params, std::move(spec));
}

absl::Status RequireChunks(const std::string& schedule, const ScheduleParams& params, int chunks,
                           const std::string& why) {
  if (params.chunks != chunks) {
    return absl::InvalidArgumentError(absl::StrCat(schedule, ": chunks must be ", chunks, " (",
                                                   why, "), got ", params.chunks));
  }
  return absl::OkStatus();
}

absl::Status RequireSingleChunk(const std::string& schedule, const ScheduleParams& params) {
  return RequireChunks(schedule, params, 1, "it holds one model stage per rank");
}

absl::Status RequireMicrobatchesAtLeastStages(const std::string& schedule,
                                              const ScheduleParams& params) {
  if (params.microbatches < params.stages) {
    return absl::InvalidArgumentError(
        absl::StrCat(schedule, ": microbatches (", params.microbatches,
                     ") must be >= stages (", params.stages, ")"));
  }
  return absl::OkStatus();
}

}  // namespace pipebench
