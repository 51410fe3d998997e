// GPipe (fill-drain): every forward of the mini-batch, then every backward, then one update.
// One weight version per batch; m activations in flight at every stage.
#include <memory>
#include <vector>

#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> GPipeProgram(const ScheduleParams& params, int rank) {
  const int m = params.microbatches;
  std::vector<Action> actions;
  actions.reserve(params.batches * (2 * m + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    for (int i = 0; i < m; ++i) actions.push_back(Action::Forward(batch * m + i));
    for (int i = 0; i < m; ++i) actions.push_back(Action::Backward(batch * m + i));
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeGPipe(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireSingleChunk("gpipe", params));
  return MakeScheduleFromSpec(params, {.name = "gpipe",
                                       .synchronous = true,
                                       .make_program = GPipeProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("gpipe", MakeGPipe);

}  // namespace pipebench
