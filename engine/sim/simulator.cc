#include "engine/sim/simulator.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {
namespace {

// Per (model stage, micro-batch) progress bits.
enum Flag : std::uint8_t {
  kActivationArrived = 1 << 0,
  kGradientArrived = 1 << 1,
  kForwardStarted = 1 << 2,
  kForwardDone = 1 << 3,
  kBackwardStarted = 1 << 4,  // B or I
  kBackwardDone = 1 << 5,
  kWeightStarted = 1 << 6,    // W, or B (which includes it)
  kWeightDone = 1 << 7,
};

enum class EventKind : std::uint8_t { kComputeDone, kActivationArrives, kGradientArrives };

struct Event {
  double time;
  std::uint64_t sequence;  // keeps equal-time events in a fixed order
  EventKind kind;
  std::int32_t rank;
  std::int32_t stage;
  std::int32_t microbatch;

  bool operator>(const Event& other) const {
    return time != other.time ? time > other.time : sequence > other.sequence;
  }
};

class Simulation;

class SimulatedRankView : public RankView {
 public:
  SimulatedRankView(const Simulation* sim, int rank) : sim_(sim), rank_(rank) {}
  bool ForwardInputReady(int chunk, int microbatch) const override;
  bool BackwardInputReady(int chunk, int microbatch) const override;

 private:
  const Simulation* sim_;
  int rank_;
};

struct RankState {
  std::unique_ptr<RankProgram> program;
  std::unique_ptr<SimulatedRankView> view;
  bool busy = false;
  bool done = false;
  bool pending = false;       // queued for a decision at the current time
  bool has_blocked = false;   // its program's next action is waiting for input
  Action blocked;
  Action running;
  double running_start = 0;
  std::int64_t started = 0;   // actions started, for error messages
  int version = 0;
  int inflight = 0;
  std::int64_t activation_bytes = 0;
  std::int64_t static_bytes = 0;       // parameters + optimizer state of every chunk
  std::int64_t parameter_bytes = 0;    // one copy of every chunk's parameters
  double optimizer_cost = 0;
  std::map<int, int> live_versions;    // version -> in-flight micro-batches pinned to it
  double down_link_free = 0;           // activations to the next rank
  double up_link_free = 0;             // gradients to the previous rank
};

class Simulation {
 public:
  Simulation(const Schedule& schedule, const CostModel& costs, const SimulationOptions& options)
      : schedule_(schedule),
        costs_(costs),
        options_(options),
        p_(schedule.params().stages),
        chunks_(schedule.params().chunks),
        stages_(schedule.params().model_stages()),
        total_(schedule.params().total_microbatches()),
        stash_(schedule.weight_semantics() != WeightSemantics::kCurrent) {}

  absl::StatusOr<SimulationResult> Run();

  bool ForwardInputReady(int rank, int chunk, int microbatch) const {
    if (!InRange(chunk, microbatch)) return false;
    const int stage = schedule_.StageOf(rank, chunk);
    return stage == 0 || (flags(stage, microbatch) & kActivationArrived);
  }
  bool BackwardInputReady(int rank, int chunk, int microbatch) const {
    if (!InRange(chunk, microbatch)) return false;
    const int stage = schedule_.StageOf(rank, chunk);
    return stage == stages_ - 1 ? (flags(stage, microbatch) & kForwardDone) != 0
                                : (flags(stage, microbatch) & kGradientArrived) != 0;
  }

 private:
  bool InRange(int chunk, int microbatch) const {
    return chunk >= 0 && chunk < chunks_ && microbatch >= 0 && microbatch < total_;
  }
  std::size_t Index(int stage, int microbatch) const {
    return static_cast<std::size_t>(stage) * total_ + microbatch;
  }
  std::uint8_t flags(int stage, int microbatch) const { return flags_[Index(stage, microbatch)]; }
  std::uint8_t& flags(int stage, int microbatch) { return flags_[Index(stage, microbatch)]; }

  void Push(double time, EventKind kind, int rank, int stage, int microbatch) {
    events_.push(Event{time, next_sequence_++, kind, rank, stage, microbatch});
  }
  void MarkPending(int rank) {
    RankState& state = ranks_[rank];
    if (!state.pending && !state.busy && !state.done) {
      state.pending = true;
      pending_.push_back(rank);
    }
  }

  absl::Status Drive(int rank, double now);
  absl::Status CheckAction(int rank, const Action& action) const;
  bool Ready(int rank, const Action& action) const;
  void Start(int rank, const Action& action, double now);
  void Complete(int rank, double now);
  void Send(int rank, EventKind kind, int to_stage, int microbatch, double now);
  void Record(const TimelineEvent& event) {
    if (options_.record_timeline) result_.timeline.push_back(event);
  }
  void UpdateMemoryPeak(int rank);
  int WeightCopies(const RankState& state) const;
  absl::Status DeadlockError(double now) const;
  absl::Status CheckEverythingRan() const;
  std::string Describe(int rank, const Action& action) const;

  const Schedule& schedule_;
  const CostModel& costs_;
  const SimulationOptions& options_;
  const int p_;
  const int chunks_;
  const int stages_;
  const int total_;
  const bool stash_;

  std::vector<RankState> ranks_;
  std::vector<std::uint8_t> flags_;
  std::vector<std::int32_t> forward_version_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::uint64_t next_sequence_ = 0;
  std::vector<int> pending_;
  SimulationResult result_;
};

bool SimulatedRankView::ForwardInputReady(int chunk, int microbatch) const {
  return sim_->ForwardInputReady(rank_, chunk, microbatch);
}

bool SimulatedRankView::BackwardInputReady(int chunk, int microbatch) const {
  return sim_->BackwardInputReady(rank_, chunk, microbatch);
}

std::string Simulation::Describe(int rank, const Action& action) const {
  std::string text = absl::StrCat("rank ", rank, " action #", ranks_[rank].started, " '",
                                  ToString(action), "'");
  if (action.type != ActionType::kOptimizerStep && InRange(action.chunk, action.microbatch)) {
    absl::StrAppend(&text, " (stage ", schedule_.StageOf(rank, action.chunk), ", micro-batch ",
                    action.microbatch, ")");
  }
  return text;
}

absl::Status Simulation::CheckAction(int rank, const Action& action) const {
  if (action.type == ActionType::kOptimizerStep) return absl::OkStatus();
  if (!IsCompute(action.type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(rank, action), ": schedules emit compute actions and optimizer "
                                             "steps only; communication follows from them"));
  }
  if (action.chunk < 0 || action.chunk >= chunks_) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(rank, action), ": chunk ",
                                                   action.chunk, " is outside [0, ", chunks_,
                                                   ")"));
  }
  if (action.microbatch < 0 || action.microbatch >= total_) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(rank, action), ": micro-batch ",
                                                   action.microbatch, " is outside [0, ", total_,
                                                   ")"));
  }
  const std::uint8_t f = flags(schedule_.StageOf(rank, action.chunk), action.microbatch);
  auto error = [&](const char* what) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(rank, action), ": ", what));
  };
  switch (action.type) {
    case ActionType::kForward:
      if (f & kForwardStarted) return error("forward runs a second time");
      break;
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      if (!(f & kForwardStarted)) return error("backward before its forward");
      if (f & kBackwardStarted) return error("backward runs a second time");
      break;
    case ActionType::kBackwardWeight:
      if (!(f & kBackwardStarted)) return error("weight gradient before its input gradient");
      if (f & kWeightStarted) return error("weight gradient runs a second time");
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

bool Simulation::Ready(int rank, const Action& action) const {
  switch (action.type) {
    case ActionType::kForward:
      return ForwardInputReady(rank, action.chunk, action.microbatch);
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      return BackwardInputReady(rank, action.chunk, action.microbatch);
    default:
      return true;  // W follows its own I on this rank; U needs nothing
  }
}

absl::Status Simulation::Drive(int rank, double now) {
  RankState& state = ranks_[rank];
  state.pending = false;
  if (state.busy || state.done) return absl::OkStatus();
  const Decision decision = state.program->Next(*state.view);
  switch (decision.kind) {
    case Decision::Kind::kDone:
      state.done = true;
      state.has_blocked = false;
      return absl::OkStatus();
    case Decision::Kind::kWait:
      state.has_blocked = false;
      return absl::OkStatus();
    case Decision::Kind::kRun:
      break;
  }
  if (absl::Status status = CheckAction(rank, decision.action); !status.ok()) return status;
  if (!Ready(rank, decision.action)) {
    state.has_blocked = true;
    state.blocked = decision.action;
    return absl::OkStatus();
  }
  state.has_blocked = false;
  Start(rank, decision.action, now);
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
      flags(stage, action.microbatch) |= kForwardStarted;
      forward_version_[Index(stage, action.microbatch)] = state.version;
      ++state.inflight;
      stats.peak_inflight = std::max(stats.peak_inflight, state.inflight);
      state.activation_bytes += costs_.memory_of(stage).activation_bytes;
      if (stash_) ++state.live_versions[state.version];
      UpdateMemoryPeak(rank);
      break;
    }
    case ActionType::kBackward:
    case ActionType::kBackwardInput: {
      duration = action.type == ActionType::kBackward ? cost.backward() : cost.backward_input;
      std::uint8_t& f = flags(stage, action.microbatch);
      f |= kBackwardStarted;
      if (action.type == ActionType::kBackward) f |= kWeightStarted;
      const int forward_version = forward_version_[Index(stage, action.microbatch)];
      crossed = state.version - forward_version;
      if (stash_) weight_version = forward_version;
      result_.updates_crossed[Index(stage, action.microbatch)] = crossed;
      if (static_cast<int>(stats.drift_histogram.size()) <= crossed) {
        stats.drift_histogram.resize(crossed + 1, 0);
      }
      ++stats.drift_histogram[crossed];
      stats.max_drift = std::max(stats.max_drift, crossed);
      break;
    }
    case ActionType::kBackwardWeight: {
      duration = cost.backward_weight;
      flags(stage, action.microbatch) |= kWeightStarted;
      if (stash_) weight_version = forward_version_[Index(stage, action.microbatch)];
      break;
    }
    case ActionType::kOptimizerStep: {
      duration = state.optimizer_cost;
      weight_version = ++state.version;
      ++stats.optimizer_steps;
      if (stash_) {
        stats.weight_copies = std::max(stats.weight_copies, WeightCopies(state));
        UpdateMemoryPeak(rank);
      }
      break;
    }
    default:
      break;
  }
  state.program->Started(action);
  ++state.started;
  ++result_.actions;
  state.busy = true;
  state.running = action;
  state.running_start = now;
  stats.busy_time += duration;
  Record({action.type, rank, action.chunk, action.microbatch, now, now + duration, weight_version,
          crossed, -1});
  Push(now + duration, EventKind::kComputeDone, rank, stage, action.microbatch);
}

void Simulation::Complete(int rank, double now) {
  RankState& state = ranks_[rank];
  const Action action = state.running;
  state.busy = false;
  if (action.type == ActionType::kOptimizerStep) return;
  const int stage = schedule_.StageOf(rank, action.chunk);
  std::uint8_t& f = flags(stage, action.microbatch);
  auto release_activation = [&] {
    --state.inflight;
    state.activation_bytes -= costs_.memory_of(stage).activation_bytes;
    if (stash_) {
      auto it = state.live_versions.find(forward_version_[Index(stage, action.microbatch)]);
      if (--it->second == 0) state.live_versions.erase(it);
    }
  };
  switch (action.type) {
    case ActionType::kForward:
      f |= kForwardDone;
      if (stage + 1 < stages_) {
        Send(rank, EventKind::kActivationArrives, stage + 1, action.microbatch, now);
      }
      break;
    case ActionType::kBackward:
    case ActionType::kBackwardInput:
      f |= kBackwardDone;
      if (action.type == ActionType::kBackward) {
        f |= kWeightDone;
        release_activation();
      }
      if (stage > 0) Send(rank, EventKind::kGradientArrives, stage - 1, action.microbatch, now);
      break;
    case ActionType::kBackwardWeight:
      f |= kWeightDone;
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
  double& link_free = activation ? state.down_link_free : state.up_link_free;
  const double start = std::max(now, link_free);
  link_free = start + costs_.SerializationTime(costs_.cost(from_stage).activation_bytes);
  const double arrival = link_free + costs_.p2p_latency;
  ++result_.actions;
  Record({activation ? ActionType::kSendActivation : ActionType::kSendGradient, rank,
          from_stage / p_, microbatch, start, arrival, -1, 0, to_rank});
  Push(arrival, kind, to_rank, to_stage, microbatch);
}

int Simulation::WeightCopies(const RankState& state) const {
  if (!stash_) return 1;
  const bool current_pinned = state.live_versions.count(state.version) > 0;
  return static_cast<int>(state.live_versions.size()) + (current_pinned ? 0 : 1);
}

void Simulation::UpdateMemoryPeak(int rank) {
  RankState& state = ranks_[rank];
  StageStats& stats = result_.stages[rank];
  const int copies = WeightCopies(state);
  stats.weight_copies = std::max(stats.weight_copies, copies);
  const std::int64_t bytes =
      state.static_bytes + (copies - 1) * state.parameter_bytes + state.activation_bytes;
  stats.peak_memory_bytes = std::max(stats.peak_memory_bytes, bytes);
}

absl::Status Simulation::DeadlockError(double now) const {
  std::vector<std::string> stuck;
  for (int rank = 0; rank < p_; ++rank) {
    const RankState& state = ranks_[rank];
    if (state.done) continue;
    if (!state.has_blocked) {
      stuck.push_back(absl::StrCat("rank ", rank, " has no runnable action"));
      continue;
    }
    const Action& a = state.blocked;
    const int stage = schedule_.StageOf(rank, a.chunk);
    const bool forward = a.type == ActionType::kForward;
    stuck.push_back(absl::StrCat(Describe(rank, a), " waits for the ",
                                 forward ? "activation from stage " : "gradient from stage ",
                                 forward ? stage - 1 : stage + 1));
  }
  return absl::InvalidArgumentError(absl::StrCat(schedule_.name(), " deadlocks at time ", now,
                                                 ": ", absl::StrJoin(stuck, "; ")));
}

absl::Status Simulation::CheckEverythingRan() const {
  for (int stage = 0; stage < stages_; ++stage) {
    for (int mb = 0; mb < total_; ++mb) {
      const std::uint8_t f = flags(stage, mb);
      const char* missing = !(f & kForwardDone)    ? "forward"
                            : !(f & kBackwardDone) ? "backward"
                            : !(f & kWeightDone)   ? "weight gradient"
                                                   : nullptr;
      if (missing != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(schedule_.name(), ": micro-batch ", mb, " never ran its ", missing,
                         " at stage ", stage, " (rank ", schedule_.RankOfStage(stage), ")"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SimulationResult> Simulation::Run() {
  if (absl::Status status = costs_.Validate(stages_); !status.ok()) return status;
  result_.schedule = schedule_.name();
  result_.params = schedule_.params();
  result_.weight_semantics = schedule_.weight_semantics();
  result_.stages.resize(p_);
  const std::size_t cells = static_cast<std::size_t>(stages_) * total_;
  flags_.assign(cells, 0);
  forward_version_.assign(cells, 0);
  result_.updates_crossed.assign(cells, 0);
  ranks_.resize(p_);
  // Each rank runs at most one forward, backward (or I and W) per stage-micro-batch plus updates;
  // a program that issues more is looping.
  const std::int64_t action_limit = 4LL * chunks_ * total_ + 2LL * total_ + 16;
  for (int rank = 0; rank < p_; ++rank) {
    RankState& state = ranks_[rank];
    state.program = schedule_.MakeProgram(rank);
    state.view = std::make_unique<SimulatedRankView>(this, rank);
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
  while (true) {
    // Every rank that became idle or received input at `now` decides, in rank order of arrival.
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const int rank = pending_[i];
      if (absl::Status status = Drive(rank, now); !status.ok()) return status;
      if (ranks_[rank].started > action_limit) {
        return absl::InvalidArgumentError(
            absl::StrCat(schedule_.name(), ": rank ", rank, " issued more than ", action_limit,
                         " actions; its program does not terminate"));
      }
    }
    pending_.clear();
    if (events_.empty()) break;
    now = events_.top().time;
    while (!events_.empty() && events_.top().time == now) {
      const Event event = events_.top();
      events_.pop();
      switch (event.kind) {
        case EventKind::kComputeDone:
          Complete(event.rank, now);
          break;
        case EventKind::kActivationArrives:
          flags(event.stage, event.microbatch) |= kActivationArrived;
          break;
        case EventKind::kGradientArrives:
          flags(event.stage, event.microbatch) |= kGradientArrived;
          break;
      }
      MarkPending(event.rank);
    }
  }
  for (const RankState& state : ranks_) {
    if (!state.done) return DeadlockError(now);
  }
  if (absl::Status status = CheckEverythingRan(); !status.ok()) return status;

  result_.makespan = now;
  result_.throughput = now > 0 ? total_ / now : 0;
  double busy = 0;
  for (StageStats& stats : result_.stages) {
    stats.bubble_fraction = now > 0 ? 1.0 - stats.busy_time / now : 0;
    busy += stats.busy_time;
    result_.max_drift = std::max(result_.max_drift, stats.max_drift);
  }
  result_.bubble_fraction = now > 0 ? 1.0 - busy / (p_ * now) : 0;
  if (options_.record_timeline) {
    std::stable_sort(result_.timeline.begin(), result_.timeline.end(),
                     [](const TimelineEvent& a, const TimelineEvent& b) {
                       return a.start != b.start ? a.start < b.start : a.rank < b.rank;
                     });
  }
  return std::move(result_);
}

}  // namespace

absl::StatusOr<SimulationResult> Simulate(const Schedule& schedule, const CostModel& costs,
                                          const SimulationOptions& options) {
  Simulation simulation(schedule, costs, options);
  return simulation.Run();
}

}  // namespace pipebench
