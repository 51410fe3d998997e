// A toy schedule for the "adding a baseline" test: one micro-batch at a time through the whole
// pipeline (forward down, backward up) before the next starts, one update per mini-batch. It
// lives only in this test's runner, as a new schedule would in a user's fork.
#include <memory>
#include <vector>

#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> SequentialProgram(const ScheduleParams& params, int rank) {
  std::vector<Action> actions;
  for (int batch = 0; batch < params.batches; ++batch) {
    for (int i = 0; i < params.microbatches; ++i) {
      actions.push_back(Action::Forward(batch * params.microbatches + i));
      actions.push_back(Action::Backward(batch * params.microbatches + i));
    }
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeSequential(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("toy_sequential", params));
  return MakeScheduleFromSpec(params, {.name = "toy_sequential",
                                       .synchronous = true,
                                       .make_program = SequentialProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("toy_sequential", MakeSequential);

}  // namespace pipebench
