// One compute action of one model stage, run the same way by every backend that trains: the
// single-process executor and each rank of a distributed run. The backend says only how tensors
// travel between stages (a TensorRoute: handed over in one process, c10d send/recv between
// processes); fetching the micro-batch's tokens, calling the stage worker and passing the output
// on are written here once.
#ifndef PIPEBENCH_ENGINE_EXEC_STAGE_ACTION_H_
#define PIPEBENCH_ENGINE_EXEC_STAGE_ACTION_H_

#include <torch/torch.h>

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/exec/stage_worker.h"
#include "engine/model/dataset.h"
#include "engine/schedule/action.h"

namespace pipebench {

// Where a stage's inputs come from and its outputs go. Stages are model stages.
class TensorRoute {
 public:
  virtual ~TensorRoute() = default;
  // The activation `stage` (> 0) consumes for `microbatch`'s forward.
  virtual absl::StatusOr<torch::Tensor> TakeActivation(int stage, int microbatch) = 0;
  // The gradient of `stage`'s output (stage < last) for `microbatch`'s backward.
  virtual absl::StatusOr<torch::Tensor> TakeGradient(int stage, int microbatch) = 0;
  virtual absl::Status SendActivation(int to_stage, int microbatch, torch::Tensor activation) = 0;
  virtual absl::Status SendGradient(int to_stage, int microbatch, torch::Tensor gradient) = 0;
};

// The tokens of micro-batch `mb`: the first stage's inputs and the last stage's targets.
using BatchSource = std::function<TokenBatch(int microbatch)>;

struct StageActionOutcome {
  int weight_version = 0;        // the version the pass ran on
  int updates_crossed = 0;       // backward passes: updates since the forward
  std::optional<double> loss;    // the last stage's forward
  bool backward_finished = false;  // B, or W: the micro-batch's backward is complete here
};

// Runs compute action `action` (F, B, I or W) of model `stage` of `model_stages` on `worker`.
// `slow_down` > 1 injects a regression for the CI gate's tests: the action then takes that many
// times its own time (it sleeps the difference), in whichever backend runs it.
// Errors: the worker's (a non-finite loss or activation), or the route's (a failed transfer).
absl::StatusOr<StageActionOutcome> RunStageAction(const Action& action, int stage,
                                                  int model_stages, StageWorker& worker,
                                                  const BatchSource& batches, TensorRoute& route,
                                                  double slow_down = 1.0);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_STAGE_ACTION_H_
