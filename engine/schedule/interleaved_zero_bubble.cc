// Interleaved zero bubble (torch.distributed.pipelining's ScheduleInterleavedZeroBubble; the
// zero-bubble paper's ZB-H1 rule on interleaved 1F1B's chunks). Each rank holds v looped chunks
// (stage g = chunk * p + rank) and micro-batches move through them in groups of p, so m must be a
// multiple of p. Backward is split into the input gradient I and the weight gradient W:
//  - warm-up at rank r is (v-1)p + (p-1-r) chunk-forwards, one round less deep than interleaved
//    1F1B's (v-1)p + 2(p-1-r), since an I returns sooner than a full backward;
//  - then each forward is followed by an I, and each I after the rank's first r by the W of the
//    oldest micro-batch still waiting for one (ZB-H1's lag of r); leftover Ws close the batch.
// With T_F = T_B = T_W and free messages the bubble is (p-1)(T_F + T_B - T_W)/v: ZB-H1's, shrunk
// by v as interleaving shrinks 1F1B's (simulator_test checks it). Peak activation memory matches
// interleaved 1F1B's warm-up depth. Updates stay synchronous, one per mini-batch.
#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "engine/schedule/interleaved_order.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> InterleavedZeroBubbleProgram(const ScheduleParams& params, int rank) {
  const int p = params.stages;
  const InterleavedOrder order(params);
  const int per_batch = order.PassesPerBatch();
  const int warmup = std::min((params.chunks - 1) * p + (p - 1 - rank), per_batch);
  std::vector<Action> actions;
  actions.reserve(params.batches * (3 * per_batch + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    auto forward = [&](int k) {
      return Action::Forward(order.Microbatch(batch, k), order.ForwardChunk(k));
    };
    std::deque<Action> weights;
    int inputs = 0;
    auto input = [&](int k) {
      const int microbatch = order.Microbatch(batch, k);
      const int chunk = order.BackwardChunk(k);
      actions.push_back(Action::BackwardInput(microbatch, chunk));
      weights.push_back(Action::BackwardWeight(microbatch, chunk));
      if (++inputs > rank) {
        actions.push_back(weights.front());
        weights.pop_front();
      }
    };
    for (int k = 0; k < warmup; ++k) actions.push_back(forward(k));
    for (int k = 0; k < per_batch - warmup; ++k) {
      actions.push_back(forward(warmup + k));
      input(k);
    }
    for (int k = per_batch - warmup; k < per_batch; ++k) input(k);
    actions.insert(actions.end(), weights.begin(), weights.end());
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeInterleavedZeroBubble(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(RequireMicrobatchGroups("interleaved_zb", params));
  return MakeScheduleFromSpec(params, {.name = "interleaved_zb",
                                       .synchronous = true,
                                       .splits_backward = true,
                                       .make_program = InterleavedZeroBubbleProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("interleaved_zb", MakeInterleavedZeroBubble);

}  // namespace pipebench
