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

#include "absl/strings/str_cat.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"

namespace pipebench {
namespace {

std::unique_ptr<RankProgram> InterleavedZeroBubbleProgram(const ScheduleParams& params, int rank) {
  const int p = params.stages;
  const int v = params.chunks;
  const int m = params.microbatches;
  const int per_batch = m * v;
  const int warmup = std::min((v - 1) * p + (p - 1 - rank), per_batch);
  std::vector<Action> actions;
  actions.reserve(params.batches * (3 * per_batch + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    // The k-th chunk-forward (or chunk-backward) of this rank within the batch.
    auto microbatch = [&](int k) { return batch * m + (k / (p * v)) * p + k % p; };
    std::deque<Action> weights;
    int inputs = 0;
    auto input = [&](int k) {
      const int chunk = v - 1 - (k / p) % v;
      actions.push_back(Action::BackwardInput(microbatch(k), chunk));
      weights.push_back(Action::BackwardWeight(microbatch(k), chunk));
      if (++inputs > rank) {
        actions.push_back(weights.front());
        weights.pop_front();
      }
    };
    for (int k = 0; k < warmup; ++k) actions.push_back(Action::Forward(microbatch(k), (k / p) % v));
    for (int k = 0; k < per_batch - warmup; ++k) {
      const int f = warmup + k;
      actions.push_back(Action::Forward(microbatch(f), (f / p) % v));
      input(k);
    }
    for (int k = per_batch - warmup; k < per_batch; ++k) input(k);
    actions.insert(actions.end(), weights.begin(), weights.end());
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeInterleavedZeroBubble(const ScheduleParams& params) {
  if (params.microbatches % params.stages != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("interleaved_zb: microbatches (", params.microbatches,
                     ") must be a multiple of stages (", params.stages, ")"));
  }
  return MakeScheduleFromSpec(params, {.name = "interleaved_zb",
                                       .synchronous = true,
                                       .splits_backward = true,
                                       .make_program = InterleavedZeroBubbleProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("interleaved_zb", MakeInterleavedZeroBubble);

}  // namespace pipebench
