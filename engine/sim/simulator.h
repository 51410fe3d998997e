// Discrete-event simulation of a pipeline schedule on a cost model.
//
// Each rank runs its schedule program (see engine/schedule/rank_program.h): when idle it asks for
// the next action and starts it as soon as the action's input is there. A finished forward sends
// its activation downstream and a finished input-gradient sends the gradient upstream, over
// per-direction links with latency and bandwidth (sends overlap compute). Every action that touches
// weights records the rank's weight version, so each micro-batch's drift - optimizer updates
// between its forward and its backward - is known exactly.
//
// Each rank is run by the RankDriver every backend shares (engine/runtime/rank_driver.h), so the
// schedule is checked here exactly as everywhere: a micro-batch out of range, a backward before
// its forward, an action run twice, a micro-batch never finished, or a deadlock is an
// InvalidArgument error that names the rank and the action; it never hangs.
#ifndef PIPEBENCH_ENGINE_SIM_SIMULATOR_H_
#define PIPEBENCH_ENGINE_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/schedule/action.h"
#include "engine/schedule/schedule.h"
#include "engine/sim/cost_model.h"

namespace pipebench {

struct TimelineEvent {
  ActionType type;
  std::int32_t rank;
  std::int32_t chunk;
  std::int32_t microbatch;  // -1 for optimizer steps
  double start;
  double end;               // sends: arrival time at the peer
  std::int32_t weight_version;   // version the pass ran on; for U, the version it produced
  std::int32_t updates_crossed;  // backward passes: updates since the forward; else 0
  std::int32_t peer;             // sends: destination rank; else -1
};

struct StageStats {
  double busy_time = 0;
  double bubble_fraction = 0;
  int peak_inflight = 0;
  std::int64_t peak_memory_bytes = 0;
  int weight_copies = 1;  // peak number of weight versions held at once
  int max_drift = 0;
  int drift_bound = 0;    // the schedule's promise; -1 when it makes none
  int optimizer_steps = 0;
  // From the rank's first compute action's start to its last one's end: the zero-bubble paper's
  // per-stage cost, whose bubble rate ignores the pipeline's fill before the rank starts.
  double compute_span = 0;
};

struct SimulationResult {
  std::string schedule;
  ScheduleParams params;
  std::string weights;  // the schedule's weight policy at stage 0, described
  double makespan = 0;
  double throughput = 0;  // micro-batches per unit time
  double bubble_fraction = 0;
  int max_drift = 0;
  std::int64_t actions = 0;  // compute, optimizer and send actions simulated
  std::vector<StageStats> stages;
  // [rank][chunk] = the model stage that chunk is (the schedule's placement).
  std::vector<std::vector<int>> model_stages_of_rank;
  // [model_stage * total_microbatches + microbatch] = updates crossed by that backward.
  std::vector<std::int32_t> updates_crossed;
  // Only with record_timeline. In dispatch order: compute actions and optimizer steps in the order
  // the ranks started them (causal even when actions cost nothing, and by start time), each send
  // when its producer finished. The single-process executor replays this order.
  std::vector<TimelineEvent> timeline;

  int UpdatesCrossed(int model_stage, int microbatch) const {
    return updates_crossed[static_cast<std::size_t>(model_stage) * params.total_microbatches() +
                           microbatch];
  }
};

struct SimulationOptions {
  bool record_timeline = false;
  // When set, called every few thousand events: an error stops the simulation and is returned
  // (the harness's cell time limit and Ctrl-C reach a long simulation this way).
  std::function<absl::Status()> check_in;
};

absl::StatusOr<SimulationResult> Simulate(const Schedule& schedule, const CostModel& costs,
                                          const SimulationOptions& options = {});

// A result whose makespan is not a positive, finite time has no throughput (every cost was 0):
// InvalidArgument saying so, for the places that report throughput.
absl::Status RequirePositiveMakespan(const SimulationResult& result);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SIM_SIMULATOR_H_
