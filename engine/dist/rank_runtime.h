// One pipeline rank of a distributed run: it owns its model stages (one, or v chunks for
// interleaved schedules), runs its schedule program event-driven - acting on whatever input has
// arrived, with the same program the simulator and the single-process executor run - and moves
// activations and gradients with c10d point-to-point transfers that overlap compute.
//
// A thread per neighbour and direction keeps a window of receives posted and hands arrivals to
// the main loop, which sleeps until an input it can use arrives; sends complete in the
// background. A neighbour that dies shows up as a failed transfer naming it; one that hangs, as a
// DeadlineExceeded error naming it after the communicator's timeout. A failing rank publishes its
// error in the rendezvous store, and the others quote the first failure in their own errors.
#ifndef PIPEBENCH_ENGINE_DIST_RANK_RUNTIME_H_
#define PIPEBENCH_ENGINE_DIST_RANK_RUNTIME_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/dist/communicator.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"
#include "engine/schedule/schedule.h"
#include "engine/sim/simulator.h"

namespace pipebench {

// Deliberate failures, for testing that the others notice: `rank` exits or hangs when it is about
// to start one action - its `after_actions`-th (from 0), or with `from_end` its after_actions-th
// from its last (0: the last, in the final flush), or with `at_optimizer_step` its first optimizer
// step - or (kSlow) sleeps `delay` before every action and finishes.
struct FaultInjection {
  enum class Kind { kNone, kExit, kHang, kSlow };
  Kind kind = Kind::kNone;
  int rank = -1;
  int after_actions = 0;
  bool from_end = false;
  bool at_optimizer_step = false;
  absl::Duration delay;  // kSlow
  absl::Duration hang_for = absl::InfiniteDuration();
  // kExit ends the whole process at once, as a crash would; otherwise RunRank returns an error.
  bool exit_process = false;
};

struct RankResult {
  int rank = 0;
  std::vector<int> model_stages;                          // the stages this rank held
  std::vector<std::vector<torch::Tensor>> final_weights;  // per held stage
  std::vector<double> losses;  // per micro-batch; only on the rank holding the last stage
  std::vector<int> max_drift;          // per held stage
  std::vector<std::vector<int>> max_drift_per_group;  // per held stage (StageWorker's)
  std::vector<int> max_live_versions;  // per held stage
  // Real timings, seconds since this rank's start (same event layout as the simulator's).
  std::vector<TimelineEvent> timeline;
  double start_unix_seconds = 0;
  double wall_seconds = 0;
  double busy_seconds = 0;  // inside compute and optimizer actions
  std::int64_t peak_rss_bytes = 0;
};

// Runs `comm.rank()`'s part of `schedule`. `options` are the single-process executor's (model,
// optimizer, micro-batch size, seed); evaluation settings are ignored.
absl::StatusOr<RankResult> RunRank(const Schedule& schedule,
                                   const std::vector<UnitRange>& partition,
                                   const TokenDataset& data, const ExecutorOptions& options,
                                   Communicator& comm, const FaultInjection& fault = {});

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_RANK_RUNTIME_H_
