// Zero-bubble pipeline schedules ZB-H1 and ZB-H2 (Qi et al., ICLR 2024). Backward is split into the
// input gradient I, which the upstream stage waits for, and the weight gradient W, which nobody
// waits for, so W can fill the holes 1F1B leaves.
//
// In steady state rank s runs triples (F[x], I[x - k(p-1-s)], W[x - k(p-1)]), dropping entries
// outside [0, m); the warmup and cooldown fall out of the same rule.
//  - ZB-H1 (k = 1): at most p micro-batches hold activations on any rank, 1F1B's peak; the bubble
//    drops to (p-1)(F + I - W), a third of 1F1B's when F = I = W.
//  - ZB-H2 (k = 2): 2p-1 in flight, about twice 1F1B's peak; with F = I = W every rank is busy
//    from its first forward to its last W, and successive batches tile without a bubble. With
//    m < 2p-1 there are too few micro-batches to fill its deeper warmup, and it runs ZB-H1's order.
// Updates stay synchronous: each rank steps after its last W of the batch and before its next
// forward (ZB's optimizer post-validation removes the global barrier).
#include <memory>
#include <vector>

#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> ZeroBubbleProgram(const ScheduleParams& params, int rank,
                                               int offset_factor) {
  const int p = params.stages;
  const int m = params.microbatches;
  const int input_lag = offset_factor * (p - 1 - rank);
  const int weight_lag = offset_factor * (p - 1);
  std::vector<Action> actions;
  actions.reserve(params.batches * (3 * m + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    const int first = batch * m;
    for (int x = 0; x < m + weight_lag; ++x) {
      if (x < m) actions.push_back(Action::Forward(first + x));
      if (x >= input_lag && x - input_lag < m) {
        actions.push_back(Action::BackwardInput(first + x - input_lag));
      }
      if (x >= weight_lag) actions.push_back(Action::BackwardWeight(first + x - weight_lag));
    }
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZeroBubble(const ScheduleParams& params,
                                                        const char* name, int offset_factor) {
  PB_RETURN_IF_ERROR(RequireSingleChunk(name, params));
  return MakeScheduleFromSpec(
      params, {.name = name,
               .synchronous = true,
               .splits_backward = true,
               .make_program = [offset_factor](const ScheduleParams& p, int rank) {
                 return ZeroBubbleProgram(p, rank, offset_factor);
               }});
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZbH1(const ScheduleParams& params) {
  return MakeZeroBubble(params, "zb_h1", /*offset_factor=*/1);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZbH2(const ScheduleParams& params) {
  const bool fills_warmup = params.microbatches >= 2 * params.stages - 1;
  return MakeZeroBubble(params, "zb_h2", /*offset_factor=*/fills_warmup ? 2 : 1);
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("zb_h1", MakeZbH1);
PIPEBENCH_REGISTER_SCHEDULE("zb_h2", MakeZbH2);

}  // namespace pipebench
