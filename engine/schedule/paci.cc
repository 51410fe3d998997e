// PACI (Elam et al., "Breaking the Bubble", 2026): asynchronous 1F1B with no flush and local
// gradient accumulation. Each rank decides for itself, in this order:
//  1. after every `a` of its own backwards, step its optimizer (no cross-stage barrier);
//  2. otherwise alternate 1F1B-style: after a forward prefer the oldest backward whose gradient
//     has arrived, after a backward prefer the next forward, and when the preferred one is not
//     ready run the other rather than idle. Forwards run only while fewer than p-s micro-batches
//     are in flight, which keeps 1F1B's activation memory. (Always preferring backwards lets a
//     slow stage fall into runs of backwards then runs of forwards, which starves its neighbours:
//     a 40% bubble on unbalanced measured costs where alternation keeps the bottleneck busy.)
// One weight copy; a backward runs on the rank's current weights. Backwards are FIFO, so at most
// p-s-1 other backwards - hence ceil((p-s-1)/a) updates - fall between a micro-batch's forward and
// its backward at stage s.
//
// Two ablations, registered here because they are PACI with one rule changed (the staleness study,
// configs/experiments/staleness.json, runs them beside PACI):
//  - paci_backward_first: the reference implementation's order, a ready backward always first;
//  - paci_stashed: PACI's timeline, but each backward runs on the weights its forward used
//    (PipeDream's stashing), which separates the forward/backward weight mismatch from the plain
//    delay of the update. It costs one stashed version per in-flight update.
#include <memory>
#include <string>

#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

class PaciProgram : public RankProgram {
 public:
  PaciProgram(const ScheduleParams& params, int rank, bool backward_first)
      : total_(params.total_microbatches()),
        accumulation_(params.effective_accumulation()),
        inflight_cap_(params.stages - rank),
        backward_first_(backward_first) {}

  Decision Next(const RankView& view) override {
    const bool drained = backwards_ == total_;
    if (backwards_since_step_ == accumulation_ || (drained && backwards_since_step_ > 0)) {
      return Decision::Run(Action::OptimizerStep());
    }
    if (drained) return Decision::Done();
    const bool backward_ready = backwards_ < forwards_ && view.BackwardInputReady(0, backwards_);
    const bool forward_ready = forwards_ < total_ && forwards_ - backwards_ < inflight_cap_ &&
                               view.ForwardInputReady(0, forwards_);
    if (backward_ready && (backward_first_ || last_was_forward_ || !forward_ready)) {
      return Decision::Run(Action::Backward(backwards_));
    }
    if (forward_ready) return Decision::Run(Action::Forward(forwards_));
    return Decision::Wait();
  }

  void Started(const Action& action) override {
    switch (action.type) {
      case ActionType::kForward:
        ++forwards_;
        last_was_forward_ = true;
        break;
      case ActionType::kBackward:
        ++backwards_;
        last_was_forward_ = false;
        ++backwards_since_step_;
        break;
      case ActionType::kOptimizerStep:
        backwards_since_step_ = 0;
        break;
      default:
        break;
    }
  }

 private:
  const int total_;
  const int accumulation_;
  const int inflight_cap_;
  const bool backward_first_;
  int forwards_ = 0;
  int backwards_ = 0;
  int backwards_since_step_ = 0;
  bool last_was_forward_ = false;
};

int CeilDiv(int a, int b) { return (a + b - 1) / b; }

absl::StatusOr<std::unique_ptr<Schedule>> MakePaciVariant(const std::string& name,
                                                          const ScheduleParams& params,
                                                          bool stash,
                                                          bool backward_first) {
  PB_RETURN_IF_ERROR(RequireSingleChunk(name, params));
  return MakeScheduleFromSpec(
      params, {.name = name,
               .synchronous = false,
               .drift_bound = [](const ScheduleParams& p, int rank) {
                 return CeilDiv(p.stages - rank - 1, p.effective_accumulation());
               },
               .weight_policy = [stash](const ScheduleParams&, int) {
                 return WeightPolicy{.stash = stash};
               },
               .make_program = [backward_first](const ScheduleParams& p, int rank) {
                 return std::make_unique<PaciProgram>(p, rank, backward_first);
               }});
}

absl::StatusOr<std::unique_ptr<Schedule>> MakePaci(const ScheduleParams& params) {
  return MakePaciVariant("paci", params, /*stash=*/false, false);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakePaciBackwardFirst(const ScheduleParams& params) {
  return MakePaciVariant("paci_backward_first", params, /*stash=*/false, true);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakePaciStashed(const ScheduleParams& params) {
  return MakePaciVariant("paci_stashed", params, /*stash=*/true, false);
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("paci", MakePaci);
PIPEBENCH_REGISTER_SCHEDULE("paci_backward_first", MakePaciBackwardFirst);
PIPEBENCH_REGISTER_SCHEDULE("paci_stashed", MakePaciStashed);

}  // namespace pipebench
