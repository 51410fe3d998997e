#include "engine/exec/stage_action.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/platform/device.h"
#include "engine/util/status_macros.h"

namespace pipebench {

namespace {

absl::StatusOr<StageActionOutcome> Run(const Action& action, int stage, int model_stages,
                                       StageWorker& worker, const BatchSource& batches,
                                       TensorRoute& route) {
  const int mb = action.microbatch;
  const bool first = stage == 0;
  const bool last = stage == model_stages - 1;
  StageActionOutcome outcome;
  switch (action.type) {
    case ActionType::kForward: {
      torch::Tensor input, targets;
      if (first || last) {
        TokenBatch batch = batches(mb);
        input = std::move(batch.inputs);
        targets = std::move(batch.targets);
      }
      if (!first) {
        PB_ASSIGN_OR_RETURN(input, route.TakeActivation(stage, mb));
      }
      PB_ASSIGN_OR_RETURN(ForwardResult forward, worker.Forward(mb, input, targets));
      outcome.weight_version = forward.weight_version;
      if (last) {
        outcome.loss = forward.loss;
      } else {
        PB_RETURN_IF_ERROR(route.SendActivation(stage + 1, mb, std::move(forward.activation)));
      }
      return outcome;
    }
    case ActionType::kBackward:
    case ActionType::kBackwardInput: {
      torch::Tensor grad_output;
      if (!last) {
        PB_ASSIGN_OR_RETURN(grad_output, route.TakeGradient(stage, mb));
      }
      const bool input_only = action.type == ActionType::kBackwardInput;
      BackwardResult backward = worker.Backward(mb, grad_output, input_only);
      outcome.weight_version = backward.weight_version;
      outcome.updates_crossed = backward.updates_crossed;
      outcome.backward_finished = !input_only;
      if (!first) {
        PB_RETURN_IF_ERROR(route.SendGradient(stage - 1, mb, std::move(backward.input_gradient)));
      }
      return outcome;
    }
    case ActionType::kBackwardWeight:
      outcome.weight_version = worker.WeightGradient(mb);
      outcome.backward_finished = true;
      return outcome;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("stage ", stage, ": ", ToString(action), " is not a compute action"));
  }
}

}  // namespace

absl::StatusOr<StageActionOutcome> RunStageAction(const Action& action, int stage,
                                                  int model_stages, StageWorker& worker,
                                                  const BatchSource& batches, TensorRoute& route,
                                                  double slow_down) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<StageActionOutcome> outcome =
      Run(action, stage, model_stages, worker, batches, route);
  // On a GPU the action is over when its kernels are, not when they were queued: the callers'
  // clocks (traces, busy time, the slow-down below) time it here.
  Synchronize(worker.device());
  if (slow_down > 1.0) {
    std::this_thread::sleep_for((std::chrono::steady_clock::now() - start) * (slow_down - 1.0));
  }
  return outcome;
}

}  // namespace pipebench
