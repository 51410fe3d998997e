// DualPipeV (DeepSeek-V3's DualPipe folded onto half the devices; deepseek-ai/DualPipe,
// dualpipev.py). The model's 2p stages sit in a V: rank r holds stage r (chunk 0) and stage
// 2p-1-r (chunk 1), so rank 0 both reads the input and computes the loss, and the last rank
// turns a micro-batch from chunk 0 to chunk 1 without a transfer.
//
// Each chunk runs its forwards in micro-batch order and its backwards in the same order. Rank r
// of p, with m >= 2p micro-batches, runs eight phases (counts of repeats, then each repeat's body;
// I is an input-gradient backward whose weight gradient W waits in a first-in-first-out queue,
// B a full backward):
//   1. 2(p-r-1): F0                      5. p-r-1: B1, F1 B0
//   2. r+1:      F0 F1                   6. r+1:   B1 B0, switching to I1 / I0 halfway
//   3. p-r-1:    I1 W F1                 7. p-r-1: W I0
//   4. m-2p+r+1: F0 B1, F1 B0            8. r+1:   W
// The pairs "F0 B1" and "F1 B0" are the paper's overlapped forward-and-backward of two
// micro-batches: DeepSeek hides one half's all-to-all behind the other's compute. The engine runs
// the two halves one after the other (as torch.distributed.pipelining's ScheduleDualPipeV does
// without a custom overlap function), so its bubble is the paper's (p-1)(F&B + B - 3W) with
// F&B = F + B. Every rank holds at most 2p+1 chunks' activations (the paper's PP+1 with PP = 2p).
// Updates stay synchronous: each rank steps once its queue is empty, at the end of each batch.
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

// One batch of one rank's order, built phase by phase.
class DualPipeVOrder {
 public:
  DualPipeVOrder(int first_microbatch, std::vector<Action>& actions)
      : first_(first_microbatch), actions_(actions) {}

  void F(int chunk) { actions_.push_back(Action::Forward(first_ + forwards_[chunk]++, chunk)); }
  // A full backward, or an input gradient with its weight gradient queued once split_ is on.
  void B(int chunk) {
    const int microbatch = first_ + backwards_[chunk]++;
    if (!split_) {
      actions_.push_back(Action::Backward(microbatch, chunk));
      return;
    }
    actions_.push_back(Action::BackwardInput(microbatch, chunk));
    weights_.push_back(Action::BackwardWeight(microbatch, chunk));
  }
  void W() {
    actions_.push_back(weights_.front());
    weights_.pop_front();
  }
  void Split(bool on) { split_ = on; }

 private:
  const int first_;
  std::vector<Action>& actions_;
  int forwards_[2] = {0, 0};
  int backwards_[2] = {0, 0};
  bool split_ = false;
  std::deque<Action> weights_;
};

std::unique_ptr<RankProgram> DualPipeVProgram(const ScheduleParams& params, int rank) {
  const int p = params.stages;
  const int m = params.microbatches;
  const int r = rank;
  std::vector<Action> actions;
  actions.reserve(params.batches * (6 * m + 1));
  for (int batch = 0; batch < params.batches; ++batch) {
    DualPipeVOrder order(batch * m, actions);
    for (int i = 0; i < 2 * (p - r - 1); ++i) order.F(0);
    for (int i = 0; i < r + 1; ++i) order.F(0), order.F(1);
    for (int i = 0; i < p - r - 1; ++i) {
      order.Split(true), order.B(1), order.W(), order.Split(false);
      order.F(1);
    }
    for (int i = 0; i < m - 2 * p + r + 1; ++i) order.F(0), order.B(1), order.F(1), order.B(0);
    for (int i = 0; i < p - r - 1; ++i) order.B(1), order.F(1), order.B(0);
    // Halfway through phase 6 the backwards start leaving their weight gradients for later.
    const int switch_repeat = (r + 1) / 2;
    for (int i = 0; i < r + 1; ++i) {
      if (i == switch_repeat && r % 2 == 1) order.Split(true);
      order.B(1);
      if (i == switch_repeat && r % 2 == 0) order.Split(true);
      order.B(0);
    }
    order.Split(true);
    for (int i = 0; i < p - r - 1; ++i) order.W(), order.B(0);
    for (int i = 0; i < r + 1; ++i) order.W();
    actions.push_back(Action::OptimizerStep());
  }
  return std::make_unique<StaticProgram>(std::move(actions));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeDualPipeV(const ScheduleParams& params) {
  PB_RETURN_IF_ERROR(
      RequireChunks("dualpipe_v", params, 2, "each rank holds two stages in a V"));
  if (params.microbatches < 2 * params.stages) {
    return absl::InvalidArgumentError(absl::StrCat("dualpipe_v: microbatches (",
                                                   params.microbatches, ") must be >= 2 x stages (",
                                                   2 * params.stages, ")"));
  }
  return MakeScheduleFromSpec(params, {.name = "dualpipe_v",
                                       .synchronous = true,
                                       .splits_backward = true,
                                       .placement = Placement::V,
                                       .make_program = DualPipeVProgram});
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("dualpipe_v", MakeDualPipeV);

}  // namespace pipebench
