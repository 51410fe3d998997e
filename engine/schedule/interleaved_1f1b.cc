// Interleaved 1F1B (Narayanan et al. 2021, Megatron-LM): each rank holds v model chunks, stage
// g = chunk * p + rank. Micro-batches move through the chunks in groups of p, which is why m must
// be a multiple of p. Warmup at rank r is 2(p-r-1) + (v-1)p chunk-forwards; the bubble shrinks by
// ~1/v.
#include <algorithm>
#include <memory>
#include <vector>

#include "engine/schedule/interleaved_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> InterleavedProgram(const ScheduleParams& params, int rank) {
  const int p = params.stages;
  const InterleavedOrder order(params);
  const int per_batch = order.PassesPerBatch();
  const int warmup = std::min((p - rank - 1) * 2 + (params.chunks - 1) * p, per_batch);
  std::vector<Action> actions;
  actions.reserve(params.batches * (2 * per_batch + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    auto forward = [&](int k) {
      return Action::Forward(order.Microbatch(batch, k), order.ForwardChunk(k));
    };
    auto backward = [&](int k) {
      return Action::Backward(order.Microbatch(batch, k), order.BackwardChunk(k));
    };
    for (int k = 0; k < warmup; ++k) actions.push_back(forward(k));
    for (int k = 0; k < per_batch - warmup; ++k) {
      actions.push_back(forward(warmup + k));
      actions.push_back(backward(k));
    }
    for (int k = per_batch - warmup; k < per_batch; ++k) actions.push_back(backward(k));
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeInterleaved(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireMicrobatchGroups("interleaved_1f1b", params));
  return MakeScheduleFromSpec(
      params,
      {.name = "interleaved_1f1b", .synchronous = true, .make_program = InterleavedProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("interleaved_1f1b", MakeInterleaved);

}  // namespace pipebench
