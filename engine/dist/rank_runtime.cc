#include "engine/dist/rank_runtime.h"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/exec/stage_worker.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

constexpr char kFailureKey[] = "pipebench/failed/";

// Receives posted ahead per neighbour and direction, and sends left in flight, before blocking.
constexpr int kReceiveWindow = 8;
constexpr int kSendWindow = 16;

enum Direction { kActivation = 0, kGradient = 1 };

// Tensors that have arrived for this rank, filled by receiver threads (or locally) and read by
// the rank's main loop.
class Mailbox {
 public:
  void Put(int chunk, Direction direction, int mb, torch::Tensor tensor) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      arrived_[{chunk, direction}].emplace(mb, std::move(tensor));
      ++arrivals_;
    }
    changed_.notify_all();
  }
  bool Has(int chunk, Direction direction, int mb) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = arrived_.find({chunk, direction});
    return it != arrived_.end() && it->second.count(mb) > 0;
  }
  torch::Tensor Take(int chunk, Direction direction, int mb) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& box = arrived_.at({chunk, direction});
    torch::Tensor tensor = std::move(box.at(mb));
    box.erase(mb);
    return tensor;
  }
  void Fail(absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error_.ok()) error_ = std::move(status);
    }
    changed_.notify_all();
  }
  // Waits until something new arrives or a receiver fails; false on timeout.
  absl::StatusOr<bool> WaitForChange(std::int64_t seen, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
    while (arrivals_ == seen && error_.ok()) {
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    if (!error_.ok()) return error_;
    return arrivals_ != seen;
  }
  std::int64_t arrivals() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return arrivals_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::pair<int, int>, std::unordered_map<int, torch::Tensor>> arrived_;
  std::int64_t arrivals_ = 0;
  absl::Status error_;
};

// A thread receiving one neighbour's tensors of one kind for one held stage, in micro-batch
// order, with a window of receives posted ahead so transfers overlap compute.
class Receiver {
 public:
  Receiver(Communicator& comm, Mailbox& mailbox, int chunk, Direction direction, int peer,
           int total, std::function<int(int)> tag, std::function<torch::Tensor()> buffer)
      : comm_(comm), mailbox_(mailbox), chunk_(chunk), direction_(direction), peer_(peer),
        total_(total), tag_(std::move(tag)), buffer_(std::move(buffer)),
        thread_([this] { Loop(); }) {}

  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      for (auto& [mb, transfer] : posted_) transfer->Abort();
    }
    thread_.join();
  }

  int peer() const { return peer_; }
  bool finished() const { return finished_; }

 private:
  void Loop() {
    int next = 0;
    while (true) {
      Transfer* front = nullptr;
      int mb = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        while (next < total_ && static_cast<int>(posted_.size()) < kReceiveWindow) {
          absl::StatusOr<std::unique_ptr<Transfer>> transfer =
              comm_.StartRecv(buffer_(), peer_, tag_(next));
          if (!transfer.ok()) {
            mailbox_.Fail(transfer.status());
            return;
          }
          posted_.emplace_back(next++, *std::move(transfer));
        }
        if (posted_.empty()) {
          finished_ = true;
          return;
        }
        mb = posted_.front().first;
        front = posted_.front().second.get();
      }
      const absl::Status status = front->Wait();
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      if (!status.ok()) {
        mailbox_.Fail(status);
        return;
      }
      mailbox_.Put(chunk_, direction_, mb, front->tensor());
      posted_.pop_front();
    }
  }

  Communicator& comm_;
  Mailbox& mailbox_;
  const int chunk_;
  const Direction direction_;
  const int peer_;
  const int total_;
  const std::function<int(int)> tag_;
  const std::function<torch::Tensor()> buffer_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::atomic<bool> finished_{false};
  std::deque<std::pair<int, std::unique_ptr<Transfer>>> posted_;
  std::thread thread_;  // last: starts once everything above is ready
};

class RankRuntime : public RankView {
 public:
  RankRuntime(const Schedule& schedule, const std::vector<UnitRange>& partition,
              const TokenDataset& data, const ExecutorOptions& options, Communicator& comm,
              const FaultInjection& fault)
      : schedule_(schedule),
        partition_(partition),
        data_(data),
        options_(options),
        comm_(comm),
        fault_(fault),
        rank_(comm.rank()),
        p_(schedule.params().stages),
        chunks_(schedule.params().chunks),
        stages_(schedule.params().model_stages()),
        total_(schedule.params().total_microbatches()) {}

  absl::StatusOr<RankResult> Run();

  bool ForwardInputReady(int chunk, int mb) const override {
    if (chunk < 0 || chunk >= chunks_ || mb < 0 || mb >= total_) return false;
    return schedule_.StageOf(rank_, chunk) == 0 || mailbox_.Has(chunk, kActivation, mb);
  }
  bool BackwardInputReady(int chunk, int mb) const override {
    if (chunk < 0 || chunk >= chunks_ || mb < 0 || mb >= total_) return false;
    if (schedule_.StageOf(rank_, chunk) == stages_ - 1) return forwarded_[chunk].count(mb) > 0;
    return mailbox_.Has(chunk, kGradient, mb);
  }

 private:
  int Tag(Direction direction, int stage, int mb) const {
    return (direction * stages_ + stage) * total_ + mb;
  }
  absl::Status RunLoop();
  absl::Status WaitForInput(const Decision& decision, std::int64_t seen);
  absl::Status Deliver(Direction direction, int to_stage, int mb, torch::Tensor tensor);
  absl::Status Execute(const Action& action);
  double Now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  absl::Status WithFirstFailure(absl::Status status);

  const Schedule& schedule_;
  const std::vector<UnitRange>& partition_;
  const TokenDataset& data_;
  const ExecutorOptions& options_;
  Communicator& comm_;
  const FaultInjection& fault_;
  const int rank_;
  const int p_;
  const int chunks_;
  const int stages_;
  const int total_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::unique_ptr<StageWorker>> workers_;  // per chunk
  std::vector<std::unordered_set<int>> forwarded_;      // per chunk, awaiting backward
  Mailbox mailbox_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::deque<std::unique_ptr<Transfer>> sends_;
  std::unique_ptr<RankProgram> program_;
  RankResult result_;
};

// `seen` is the arrival count read before the program looked at its inputs, so an arrival in
// between is not slept through.
absl::Status RankRuntime::WaitForInput(const Decision& decision, std::int64_t seen) {
  PB_ASSIGN_OR_RETURN(bool arrived, mailbox_.WaitForChange(seen, comm_.timeout()));
  if (arrived) return absl::OkStatus();
  std::set<int> peers;
  for (const auto& receiver : receivers_) {
    if (!receiver->finished()) peers.insert(receiver->peer());
  }
  const std::string waiting = decision.kind == Decision::Kind::kRun
                                  ? absl::StrCat("input for ", ToString(decision.action))
                                  : "any input";
  if (peers.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank_, " waits for ", waiting,
                                                   " but expects no more messages: the schedule "
                                                   "deadlocks"));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "rank ", rank_, " waited ", absl::FormatDuration(comm_.timeout()), " for ", waiting,
      " from rank ", absl::StrJoin(peers, " or rank "), ", which neither sent it nor failed"));
}

absl::Status RankRuntime::Deliver(Direction direction, int to_stage, int mb, torch::Tensor tensor) {
  const int to_rank = schedule_.RankOfStage(to_stage);
  if (to_rank == rank_) {
    mailbox_.Put(to_stage / p_, direction, mb, std::move(tensor));
    return absl::OkStatus();
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Transfer> send,
                      comm_.StartSend(tensor, to_rank, Tag(direction, to_stage, mb)));
  result_.timeline.push_back({direction == kActivation ? ActionType::kSendActivation
                                                       : ActionType::kSendGradient,
                              rank_, to_stage / p_, mb, Now(), Now(), -1, 0, to_rank});
  sends_.push_back(std::move(send));
  while (static_cast<int>(sends_.size()) > kSendWindow) {
    PB_RETURN_IF_ERROR(sends_.front()->Wait());
    sends_.pop_front();
  }
  return absl::OkStatus();
}

absl::Status RankRuntime::Execute(const Action& action) {
  const double begin = Now();
  const int stage = schedule_.StageOf(rank_, action.chunk);
  const int mb = action.microbatch;
  int weight_version = 0;
  int crossed = 0;
  switch (action.type) {
    case ActionType::kForward: {
      torch::Tensor input, targets;
      if (stage == 0 || stage == stages_ - 1) {
        TokenBatch batch =
            data_.TrainBatch(options_.micro_batch_size, options_.model.context, options_.seed, mb);
        input = batch.inputs;
        targets = batch.targets;
      }
      if (stage > 0) input = mailbox_.Take(action.chunk, kActivation, mb);
      PB_ASSIGN_OR_RETURN(ForwardResult forward,
                          workers_[action.chunk]->Forward(mb, input, targets));
      weight_version = forward.weight_version;
      forwarded_[action.chunk].insert(mb);
      if (stage == stages_ - 1) result_.losses[mb] = forward.loss;
      if (stage + 1 < stages_) {
        PB_RETURN_IF_ERROR(Deliver(kActivation, stage + 1, mb, std::move(forward.activation)));
      }
      break;
    }
    case ActionType::kBackward:
    case ActionType::kBackwardInput: {
      torch::Tensor grad_output;
      if (stage + 1 < stages_) grad_output = mailbox_.Take(action.chunk, kGradient, mb);
      forwarded_[action.chunk].erase(mb);
      BackwardResult backward = workers_[action.chunk]->Backward(
          mb, grad_output, action.type == ActionType::kBackwardInput);
      weight_version = backward.weight_version;
      crossed = backward.updates_crossed;
      if (stage > 0) {
        PB_RETURN_IF_ERROR(
            Deliver(kGradient, stage - 1, mb, std::move(backward.input_gradient)));
      }
      break;
    }
    case ActionType::kBackwardWeight:
      workers_[action.chunk]->WeightGradient(mb);
      break;
    case ActionType::kOptimizerStep:
      for (auto& worker : workers_) PB_RETURN_IF_ERROR(worker->OptimizerStep());
      weight_version = workers_[0]->version();
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", rank_, ": schedules may not emit ", ToString(action)));
  }
  const double end = Now();
  result_.busy_seconds += end - begin;
  result_.timeline.push_back(
      {action.type, rank_, action.chunk, mb, begin, end, weight_version, crossed, -1});
  return absl::OkStatus();
}

absl::Status RankRuntime::WithFirstFailure(absl::Status status) {
  (void)comm_.Publish(absl::StrCat(kFailureKey, rank_), std::string(status.message()));
  for (int other = 0; other < comm_.world_size(); ++other) {
    const std::string key = absl::StrCat(kFailureKey, other);
    if (other == rank_ || !comm_.Has(key)) continue;
    absl::StatusOr<std::string> reported = comm_.Fetch(key);
    if (reported.ok()) {
      return absl::Status(status.code(), absl::StrCat(status.message(), " [rank ", other,
                                                      " reported: ", *reported, "]"));
    }
  }
  return status;
}

absl::Status RankRuntime::RunLoop() {
  int actions = 0;
  while (true) {
    const std::int64_t seen = mailbox_.arrivals();
    const Decision decision = program_->Next(*this);
    if (decision.kind == Decision::Kind::kDone) break;
    const Action& a = decision.action;
    const bool ready =
        decision.kind == Decision::Kind::kRun &&
        (IsBackwardPass(a.type) ? BackwardInputReady(a.chunk, a.microbatch)
         : a.type == ActionType::kForward ? ForwardInputReady(a.chunk, a.microbatch)
                                          : true);
    if (!ready) {
      PB_RETURN_IF_ERROR(WaitForInput(decision, seen));
      continue;
    }
    if (fault_.kind != FaultInjection::Kind::kNone && fault_.rank == rank_ &&
        actions == fault_.after_actions) {
      if (fault_.kind == FaultInjection::Kind::kHang) absl::SleepFor(fault_.hang_for);
      if (fault_.kind == FaultInjection::Kind::kExit && fault_.exit_process) std::_Exit(3);
      return absl::AbortedError(
          absl::StrCat("rank ", rank_, ": fault injected after ", actions, " actions"));
    }
    program_->Started(a);
    PB_RETURN_IF_ERROR(Execute(a));
    ++actions;
  }
  while (!sends_.empty()) {
    PB_RETURN_IF_ERROR(sends_.front()->Wait());
    sends_.pop_front();
  }
  return absl::OkStatus();
}

absl::StatusOr<RankResult> RankRuntime::Run() {
  start_ = std::chrono::steady_clock::now();
  result_.start_unix_seconds = absl::ToUnixMicros(absl::Now()) / 1e6;
  result_.rank = rank_;
  if (comm_.world_size() != p_) {
    return absl::InvalidArgumentError(absl::StrCat("WORLD_SIZE is ", comm_.world_size(),
                                                   " but the schedule has ", p_,
                                                   " stages; start one process per stage"));
  }
  PB_RETURN_IF_ERROR(ValidatePartition(options_.model, partition_, stages_));
  // The simulated step counts give each stage's cosine horizon, as in the single-process run.
  PB_ASSIGN_OR_RETURN(SimulationResult plan, Simulate(schedule_, CostModel()));
  program_ = schedule_.MakeProgram(rank_);
  forwarded_.resize(chunks_);
  for (int chunk = 0; chunk < chunks_; ++chunk) {
    const int stage = schedule_.StageOf(rank_, chunk);
    result_.model_stages.push_back(stage);
    workers_.push_back(std::make_unique<StageWorker>(
        WorkerOptionsFor(schedule_, stage, partition_, options_.model, options_.optimizer,
                         options_.seed, plan.stages[rank_].optimizer_steps)));
  }
  result_.losses.assign(total_, 0.0);
  auto buffer = [this] {
    return torch::empty({options_.micro_batch_size, options_.model.context, options_.model.embed});
  };
  for (int chunk = 0; chunk < chunks_; ++chunk) {
    const int stage = schedule_.StageOf(rank_, chunk);
    if (stage > 0 && schedule_.RankOfStage(stage - 1) != rank_) {
      receivers_.push_back(std::make_unique<Receiver>(
          comm_, mailbox_, chunk, kActivation, schedule_.RankOfStage(stage - 1), total_,
          [this, stage](int mb) { return Tag(kActivation, stage, mb); }, buffer));
    }
    if (stage + 1 < stages_ && schedule_.RankOfStage(stage + 1) != rank_) {
      receivers_.push_back(std::make_unique<Receiver>(
          comm_, mailbox_, chunk, kGradient, schedule_.RankOfStage(stage + 1), total_,
          [this, stage](int mb) { return Tag(kGradient, stage, mb); }, buffer));
    }
  }
  absl::Status status = RunLoop();
  receivers_.clear();  // stops and joins the receiver threads, cancelling what they wait for
  if (!status.ok()) return WithFirstFailure(status);
  for (const auto& worker : workers_) {
    result_.final_weights.push_back(worker->weights());
    result_.max_drift.push_back(worker->max_drift());
    result_.max_live_versions.push_back(worker->max_live_versions());
  }
  result_.wall_seconds = Now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result_.peak_rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
  return std::move(result_);
}

}  // namespace

absl::StatusOr<RankResult> RunRank(const Schedule& schedule,
                                   const std::vector<UnitRange>& partition,
                                   const TokenDataset& data, const ExecutorOptions& options,
                                   Communicator& comm, const FaultInjection& fault) {
  RankRuntime runtime(schedule, partition, data, options, comm, fault);
  return runtime.Run();
}

}  // namespace pipebench
