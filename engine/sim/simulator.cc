#include "engine/sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/runtime/rank_driver.h"
#include "engine/sim/event_queue.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

enum class EventKind : std::uint8_t { kComputeDone, kActivationArrives, kGradientArrives };

// What happens at a time: a rank's compute finished, or an input reached it.
struct Event {
  std::int32_t rank;
  std::int32_t stage_and_kind;  // stage * 4 + kind
  std::int32_t microbatch;

  EventKind kind() const { return static_cast<EventKind>(stage_and_kind & 3); }
  int stage() const { return stage_and_kind >> 2; }
};

struct RankState {
  std::unique_ptr<RankDriver> driver;
  bool busy = false;
  bool pending = false;       // queued for a decision at the current time
  bool stash = false;         // its backward passes run on stashed versions
  Action running;
  int version = 0;
  int inflight = 0;
  std::int64_t activation_bytes = 0;
  std::int64_t static_bytes = 0;       // parameters + optimizer state of every chunk
  std::int64_t parameter_bytes = 0;    // one copy of every chunk's parameters
  double optimizer_cost = 0;
  std::map<int, int> live_versions;    // version -> in-flight micro-batches pinned to it
  // When each outgoing link is next free, per peer rank and message kind ([2 * peer + 1] carries
  // activations, [2 * peer] gradients: separate channels, as in the distributed runtime).
  std::vector<double> link_free;
  double first_compute_start = -1;     // -1 until its first compute action
};

// Per rank: whether a chunk it holds stashes weights, so each update makes a version that lives
// until its last micro-batch finishes (the simulator's integer shadow of the stage worker's).
std::vector<bool> StashingRanks(const Schedule& schedule) {
  std::vector<bool> stash(schedule.params().stages, false);
  for (int g = 0; g < schedule.params().model_stages(); ++g) {
    if (schedule.weight_policy(g).stash) stash[schedule.RankOfStage(g)] = true;
  }
  return stash;
}

class Simulation {
 public:
  Simulation(const Schedule& schedule, const CostModel& costs, const SimulationOptions& options)
      : schedule_(schedule),
        costs_(costs),
        options_(options),
        p_(schedule.params().stages),
        chunks_(schedule.params().chunks),
        stages_(schedule.params().model_stages()),
        total_(schedule.params().total_microbatches()) {}

  absl::StatusOr<SimulationResult> Run();

 private:
  std::size_t Index(int stage, int microbatch) const {
    return static_cast<std::size_t>(stage) * total_ + microbatch;
  }

  void Push(double time, EventKind kind, int rank, int stage, int microbatch) {
    events_.Push(time, Event{rank, stage * 4 + static_cast<int>(kind), microbatch});
  }
  void MarkPending(int rank) {
    RankState& state = ranks_[rank];
    if (!state.pending && !state.busy && !state.driver->done()) {
      state.pending = true;
      pending_.push_back(rank);
    }
  }

  absl::Status Drive(int rank, double now);
  void Start(int rank, const Action& action, double now);
  void Complete(int rank, double now);
  void Send(int rank, EventKind kind, int to_stage, int microbatch, double now);
  // Builds the event only when the timeline is recorded (it is off on the hot path).
  template <typename... Fields>
  void Record(Fields... fields) {
    if (options_.record_timeline) result_.timeline.push_back(TimelineEvent{fields...});
  }
  void UpdateMemoryPeak(int rank);
  int WeightCopies(int rank) const;
  absl::Status DeadlockError(double now) const;

  const Schedule& schedule_;
  const CostModel& costs_;
  const SimulationOptions& options_;
  const int p_;
  const int chunks_;
  const int stages_;
  const int total_;

  std::vector<RankState> ranks_;
  std::vector<std::int32_t> forward_version_;
  EventQueue<Event> events_;
  std::vector<int> pending_;
  SimulationResult result_;
};

absl::Status Simulation::Drive(int rank, double now) {
  RankState& state = ranks_[rank];
  state.pending = false;
  if (state.busy) return absl::OkStatus();
  const RankDriver::Step step = state.driver->Poll();
  if (step.kind == RankDriver::Step::Kind::kStart) Start(rank, step.action, now);
  if (step.kind == RankDriver::Step::Kind::kError) return state.driver->error();
  return absl::OkStatus();
}

void Simulation::Start(int rank, const Action& action, double now) {
  RankState& state = ranks_[rank];
  StageStats& stats = result_.stages[rank];
  const int stage = schedule_.StageOf(rank, action.chunk);
  const StageCost& cost = costs_.cost(stage);
  double duration = 0;
  int weight_version = state.version;
  int crossed = 0;
  switch (action.type) {
    case ActionType::kForward: {
      duration = cost.forward;
      forward_version_[Index(stage, action.microbatch)] = state.version;
      ++state.inflight;
      stats.peak_inflight = std::max(stats.peak_inflight, state.inflight);
      state.activation_bytes += costs_.memory_of(stage).activation_bytes;
      if (state.stash) ++state.live_versions[state.version];
      UpdateMemoryPeak(rank);
      break;
    }
    case ActionType::kBackward:
    case ActionType::kBackwardInput: {
      duration = action.type == ActionType::kBackward ? cost.backward() : cost.backward_input;
      const int forward_version = forward_version_[Index(stage, action.microbatch)];
      crossed = state.version - forward_version;
      if (state.stash) weight_version = forward_version;
      result_.updates_crossed[Index(stage, action.microbatch)] = crossed;
      stats.max_drift = std::max(stats.max_drift, crossed);
      break;
    }
    case ActionType::kBackwardWeight: {
      duration = cost.backward_weight;
      if (state.stash) weight_version = forward_version_[Index(stage, action.microbatch)];
      break;
    }
    case ActionType::kOptimizerStep: {
      duration = state.optimizer_cost;
      weight_version = ++state.version;
      ++stats.optimizer_steps;
      if (state.stash) {
        stats.weight_copies = std::max(stats.weight_copies, WeightCopies(rank));
        UpdateMemoryPeak(rank);
      }
      break;
    }
    default:
      break;
  }
  ++result_.actions;
  state.busy = true;
  state.running = action;
  stats.busy_time += duration;
  if (IsCompute(action.type)) {
    if (state.first_compute_start < 0) state.first_compute_start = now;
    stats.compute_span = now + duration - state.first_compute_start;
  }
  Record(action.type, rank, action.chunk, action.microbatch, now, now + duration, weight_version,
         crossed, -1);
  Push(now + duration, EventKind::kComputeDone, rank, stage, action.microbatch);
}

void Simulation::Complete(int rank, double now) {
  RankState& state = ranks_[rank];
  const Action action = state.running;
  state.busy = false;
  if (action.type == ActionType::kOptimizerStep) return;
  state.driver->Finished(action);
  const int stage = schedule_.StageOf(rank, action.chunk);
  auto release_activation = [&] {
    --state.inflight;
    state.activation_bytes -= costs_.memory_of(stage).activation_bytes;
    if (state.stash) {
      auto it = state.live_versions.find(forward_version_[Index(stage, action.microbatch)]);
      if (--it->second == 0) state.live_versions.erase(it);
    }
  };
  switch (action.type) {
    case ActionType::kForward:
      if (stage + 1 < stages_) {
        Send(rank, EventKind::kActivationArrives, stage + 1, action.microbatch, now);
      }
      break;
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      if (action.type == ActionType::kBackward) release_activation();
      if (stage > 0) Send(rank, EventKind::kGradientArrives, stage - 1, action.microbatch, now);
      break;
    case ActionType::kBackwardWeight:
      release_activation();
      break;
    default:
      break;
  }
}

void Simulation::Send(int rank, EventKind kind, int to_stage, int microbatch, double now) {
  const int to_rank = schedule_.RankOfStage(to_stage);
  const bool activation = kind == EventKind::kActivationArrives;
  if (to_rank == rank) {  // same rank (one rank holding consecutive chunks): no transfer
    Push(now, kind, to_rank, to_stage, microbatch);
    return;
  }
  RankState& state = ranks_[rank];
  const int from_stage = activation ? to_stage - 1 : to_stage + 1;
  double& link_free = state.link_free[2 * to_rank + (activation ? 1 : 0)];
  const double start = std::max(now, link_free);
  link_free = start + costs_.SerializationTime(costs_.cost(from_stage).activation_bytes);
  const double arrival = link_free + costs_.p2p_latency;
  ++result_.actions;
  Record(activation ? ActionType::kSendActivation : ActionType::kSendGradient, rank,
         schedule_.ChunkOfStage(from_stage), microbatch, start, arrival, -1, 0, to_rank);
  Push(arrival, kind, to_rank, to_stage, microbatch);
}

int Simulation::WeightCopies(int rank) const {
  const RankState& state = ranks_[rank];
  if (!state.stash) return 1;
  const bool current_pinned = state.live_versions.count(state.version) > 0;
  return static_cast<int>(state.live_versions.size()) + (current_pinned ? 0 : 1);
}

void Simulation::UpdateMemoryPeak(int rank) {
  RankState& state = ranks_[rank];
  StageStats& stats = result_.stages[rank];
  const int copies = WeightCopies(rank);
  stats.weight_copies = std::max(stats.weight_copies, copies);
  const std::int64_t bytes =
      state.static_bytes + (copies - 1) * state.parameter_bytes + state.activation_bytes;
  stats.peak_memory_bytes = std::max(stats.peak_memory_bytes, bytes);
}

absl::Status Simulation::DeadlockError(double now) const {
  std::vector<std::string> stuck;
  for (const RankState& state : ranks_) {
    if (!state.driver->done()) stuck.push_back(state.driver->Stuck());
  }
  return absl::InvalidArgumentError(absl::StrCat(schedule_.name(), " deadlocks at time ", now,
                                                 ": ", absl::StrJoin(stuck, "; ")));
}

absl::StatusOr<SimulationResult> Simulation::Run() {
  if (absl::Status status = costs_.Validate(stages_); !status.ok()) return status;
  result_.schedule = schedule_.name();
  result_.params = schedule_.params();
  result_.weights = schedule_.weight_policy(0).Describe();
  result_.stages.resize(p_);
  const std::size_t cells = static_cast<std::size_t>(stages_) * total_;
  forward_version_.assign(cells, 0);
  result_.updates_crossed.assign(cells, 0);
  ranks_.resize(p_);
  const std::vector<bool> stashing = StashingRanks(schedule_);
  for (int rank = 0; rank < p_; ++rank) {
    RankState& state = ranks_[rank];
    state.driver = std::make_unique<RankDriver>(schedule_, rank);
    state.stash = stashing[rank];
    state.link_free.assign(2 * p_, 0.0);
    result_.model_stages_of_rank.push_back(schedule_.placement().StagesOn(rank));
    for (int chunk = 0; chunk < chunks_; ++chunk) {
      const int stage = schedule_.StageOf(rank, chunk);
      const StageMemory& memory = costs_.memory_of(stage);
      state.parameter_bytes += memory.parameter_bytes;
      state.static_bytes += memory.parameter_bytes + memory.optimizer_state_bytes;
      state.optimizer_cost += costs_.cost(stage).optimizer_step;
    }
    result_.stages[rank].drift_bound = schedule_.DriftBound(rank);
    UpdateMemoryPeak(rank);
    MarkPending(rank);
  }
  double now = 0;
  for (std::uint64_t step = 1;; ++step) {
    if (options_.check_in && step % 4096 == 0) PB_RETURN_IF_ERROR(options_.check_in());
    // Every rank that became idle or received input at `now` decides, in rank order of arrival.
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const int rank = pending_[i];
      PB_RETURN_IF_ERROR(Drive(rank, now));
    }
    pending_.clear();
    if (events_.empty()) break;
    now = events_.next_time();
    while (!events_.empty() && events_.next_time() == now) {
      const Event event = events_.Pop();
      switch (event.kind()) {
        case EventKind::kComputeDone:
          Complete(event.rank, now);
          break;
        case EventKind::kActivationArrives:
          ranks_[event.rank].driver->ActivationArrived(schedule_.ChunkOfStage(event.stage()),
                                                    event.microbatch);
          break;
        case EventKind::kGradientArrives:
          ranks_[event.rank].driver->GradientArrived(schedule_.ChunkOfStage(event.stage()),
                                                  event.microbatch);
          break;
      }
      MarkPending(event.rank);
    }
  }
  for (const RankState& state : ranks_) {
    if (!state.driver->done()) return DeadlockError(now);
  }
  for (const RankState& state : ranks_) PB_RETURN_IF_ERROR(state.driver->CheckEverythingRan());

  result_.makespan = now;
  result_.throughput = now > 0 ? total_ / now : 0;
  double busy = 0;
  for (StageStats& stats : result_.stages) {
    stats.bubble_fraction = now > 0 ? 1.0 - stats.busy_time / now : 0;
    busy += stats.busy_time;
    result_.max_drift = std::max(result_.max_drift, stats.max_drift);
  }
  result_.bubble_fraction = now > 0 ? 1.0 - busy / (p_ * now) : 0;
  return std::move(result_);
}

}  // namespace

absl::StatusOr<SimulationResult> Simulate(const Schedule& schedule, const CostModel& costs,
                                          const SimulationOptions& options) {
  Simulation simulation(schedule, costs, options);
  return simulation.Run();
}

absl::Status RequirePositiveMakespan(const SimulationResult& result) {
  if (std::isfinite(result.makespan) && result.makespan > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      result.schedule, " takes ", result.makespan,
      " simulated seconds: throughput is undefined (the costs must add up to a positive time)"));
}

}  // namespace pipebench
