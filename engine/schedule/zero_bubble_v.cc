// ZB-V (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024, Section 6; the hand-made order
// of the authors' handcrafted_zb_v.py, also torch.distributed.pipelining's ScheduleZBVZeroBubble).
// The model's 2p stages sit in a V: rank r holds stage r (chunk 0) and stage 2p-1-r (chunk 1), so
// a micro-batch's forward and backward both start and end on rank 0 and the turn at the last rank
// needs no transfer. Backward is split into the input gradient I and the weight gradient W.
//
// Rank r's order (chunks numbered 0 and 1, counters per chunk and pass, n = max(2p-1, m)):
//  - warm-up: 2(p-r)-1 forwards of chunk 0, then r pairs (F of chunk 1, F of chunk 0) - 2p-1
//    forwards in all, the paper's 2p-i and i-1 for 1-indexed rank i;
//  - p-r groups (F, I, W) of chunk 1;
//  - steady state: groups F0 I0 W0 F1 I1 W1 while chunk 0 has forwards left (n of them) or
//    chunk 1 trails chunk 0;
//  - cool-down: r pairs (I0, I1), p-r pairs (I0, W0), then the Ws left, chunk 1's first.
// Passes of micro-batches >= m are dropped, so m < 2p-1 runs the same order with holes.
// The paper's promise (checked in simulator_test): with T_F = T_B = T_W and free messages a rank is
// never idle between its first and last pass once m >= 2p-1, with at most 2p chunks' activations
// per rank (p micro-batches of the whole model: 1F1B's memory). Updates stay synchronous, one per
// mini-batch.
#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

// One batch of one rank's order; a pass of a micro-batch past the batch's end is dropped.
class ZeroBubbleVOrder {
 public:
  ZeroBubbleVOrder(int first_microbatch, int microbatches, std::vector<Action>& actions)
      : first_(first_microbatch), m_(microbatches), actions_(actions) {}

  void F(int chunk) { Emit(ActionType::kForward, chunk, forwards_[chunk]++); }
  void I(int chunk) { Emit(ActionType::kBackwardInput, chunk, inputs_[chunk]++); }
  void W(int chunk) { Emit(ActionType::kBackwardWeight, chunk, weights_[chunk]++); }
  int forwards(int chunk) const { return forwards_[chunk]; }
  void FinishWeights(int chunk) {
    while (weights_[chunk] < m_) W(chunk);
  }

 private:
  void Emit(ActionType type, int chunk, int index) {
    if (index < m_) actions_.push_back(Action::Make(type, first_ + index, chunk));
  }

  const int first_;
  const int m_;
  std::vector<Action>& actions_;
  int forwards_[2] = {0, 0};
  int inputs_[2] = {0, 0};
  int weights_[2] = {0, 0};
};

std::unique_ptr<RankProgram> ZeroBubbleVProgram(const ScheduleParams& params, int rank) {
  const int p = params.stages;
  const int m = params.microbatches;
  const int r = rank;
  const int n = std::max(2 * p - 1, m);
  std::vector<Action> actions;
  actions.reserve(params.batches * (6 * m + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    ZeroBubbleVOrder order(batch * m, m, actions);
    for (int i = 0; i < 2 * (p - r) - 1; ++i) order.F(0);
    for (int i = 0; i < r; ++i) order.F(1), order.F(0);
    for (int i = 0; i < p - r; ++i) order.F(1), order.I(1), order.W(1);
    while (order.forwards(1) < order.forwards(0) || order.forwards(0) < n) {
      if (order.forwards(0) < n) order.F(0);
      order.I(0), order.W(0), order.F(1), order.I(1), order.W(1);
    }
    for (int i = 0; i < r; ++i) order.I(0), order.I(1);
    for (int i = 0; i < p - r; ++i) order.I(0), order.W(0);
    order.FinishWeights(1);
    order.FinishWeights(0);
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZeroBubbleV(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(
      RequireChunks("zb_v", params, 2, "each rank holds two stages in a V"));
  return MakeScheduleFromSpec(params, {.name = "zb_v",
                                       .synchronous = true,
                                       .splits_backward = true,
                                       .placement = Placement::V,
                                       .make_program = ZeroBubbleVProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("zb_v", MakeZeroBubbleV);

}  // namespace pipebench
