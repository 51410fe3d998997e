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
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "engine/exec/stage_action.h"
#include "engine/exec/stage_worker.h"
#include "engine/platform/device.h"
#include "engine/runtime/rank_driver.h"
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
  struct Arrival {
    int chunk;
    Direction direction;
    int mb;
  };

  void Put(int chunk, Direction direction, int mb, torch::Tensor tensor) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      arrived_[{chunk, direction}].emplace(mb, std::move(tensor));
      fresh_.push_back({chunk, direction, mb});
      ++arrivals_;
    }
    changed_.notify_all();
  }
  // What has arrived since the last call, for the rank's driver.
  std::vector<Arrival> TakeFresh() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Arrival> fresh;
    fresh.swap(fresh_);
    return fresh;
  }
  absl::StatusOr<torch::Tensor> Take(int chunk, Direction direction, int mb) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto box = arrived_.find({chunk, direction}); box != arrived_.end()) {
      if (auto it = box->second.find(mb); it != box->second.end()) {
        torch::Tensor tensor = std::move(it->second);
        box->second.erase(it);
        return tensor;
      }
    }
    // The driver starts an action only once its input arrived: this is a bug, not bad input.
    return absl::InternalError(absl::StrCat("chunk ", chunk, " has no ",
                                            direction == kActivation ? "activation" : "gradient",
                                            " for micro-batch ", mb));
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
  std::vector<Arrival> fresh_;
  std::int64_t arrivals_ = 0;
  absl::Status error_;
};

// A thread receiving one neighbour's tensors of one kind for one held stage, in micro-batch
// order, with a window of receives posted ahead so transfers overlap compute.
class Receiver {
 public:
  Receiver(Communicator& comm, Mailbox& mailbox, int chunk, Direction direction, int peer,
           int total, int channel, std::function<int(int)> tag,
           std::function<torch::Tensor()> buffer)
      : comm_(comm), mailbox_(mailbox), chunk_(chunk), direction_(direction), peer_(peer),
        total_(total), channel_(channel), tag_(std::move(tag)), buffer_(std::move(buffer)),
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
              comm_.StartRecv(buffer_(), peer_, tag_(next), channel_);
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
  const int channel_;
  const std::function<int(int)> tag_;
  const std::function<torch::Tensor()> buffer_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::atomic<bool> finished_{false};
  std::deque<std::pair<int, std::unique_ptr<Transfer>>> posted_;
  std::thread thread_;  // last: starts once everything above is ready
};

class RankRuntime : public TensorRoute {
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

  // TensorRoute: inputs from the mailbox, outputs to the neighbour (or this rank's next chunk).
  absl::StatusOr<torch::Tensor> TakeActivation(int stage, int mb) override {
    return mailbox_.Take(schedule_.ChunkOfStage(stage), kActivation, mb);
  }
  absl::StatusOr<torch::Tensor> TakeGradient(int stage, int mb) override {
    return mailbox_.Take(schedule_.ChunkOfStage(stage), kGradient, mb);
  }
  absl::Status SendActivation(int to_stage, int mb, torch::Tensor activation) override {
    return Deliver(kActivation, to_stage, mb, std::move(activation));
  }
  absl::Status SendGradient(int to_stage, int mb, torch::Tensor gradient) override {
    return Deliver(kGradient, to_stage, mb, std::move(gradient));
  }

 private:
  // One channel per (direction, receiving stage): a stage boundary's activations or gradients,
  // in micro-batch order (transport.h).
  int Channel(Direction direction, int stage) const { return direction * stages_ + stage; }
  int Tag(Direction direction, int stage, int mb) const {
    return Channel(direction, stage) * total_ + mb;
  }
  absl::Status RunLoop();
  absl::Status WaitForInput(const RankDriver::Step& step, std::int64_t seen);
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
  Mailbox mailbox_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::deque<std::unique_ptr<Transfer>> sends_;
  std::unique_ptr<RankDriver> driver_;  // made once the world size is known to match
  RankResult result_;
};

// `seen` is the arrival count read before the program looked at its inputs, so an arrival in
// between is not slept through.
absl::Status RankRuntime::WaitForInput(const RankDriver::Step& step, std::int64_t seen) {
  PB_ASSIGN_OR_RETURN(bool arrived, mailbox_.WaitForChange(seen, comm_.timeout()));
  if (arrived) return absl::OkStatus();
  std::set<int> peers;
  for (const auto& receiver : receivers_) {
    if (!receiver->finished()) peers.insert(receiver->peer());
  }
  const std::string waiting = step.kind == RankDriver::Step::Kind::kBlocked
                                  ? absl::StrCat("input for ", ToString(step.action))
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
    mailbox_.Put(schedule_.ChunkOfStage(to_stage), direction, mb, std::move(tensor));
    return absl::OkStatus();
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Transfer> send,
                      comm_.StartSend(tensor, to_rank, Tag(direction, to_stage, mb),
                                      Channel(direction, to_stage)));
  result_.timeline.push_back({direction == kActivation ? ActionType::kSendActivation
                                                       : ActionType::kSendGradient,
                              rank_, schedule_.ChunkOfStage(to_stage), mb, Now(), Now(), -1, 0,
                              to_rank});
  sends_.push_back(std::move(send));
  while (static_cast<int>(sends_.size()) > kSendWindow) {
    PB_RETURN_IF_ERROR(sends_.front()->Wait());
    sends_.pop_front();
  }
  return absl::OkStatus();
}

absl::Status RankRuntime::Execute(const Action& action) {
  const double begin = Now();
  const int mb = action.microbatch;
  int weight_version = 0;
  int crossed = 0;
  if (action.type == ActionType::kOptimizerStep) {
    for (auto& worker : workers_) PB_RETURN_IF_ERROR(worker->OptimizerStep());
    weight_version = workers_[0]->version();
  } else {
    const int stage = schedule_.StageOf(rank_, action.chunk);
    PB_ASSIGN_OR_RETURN(
        const StageActionOutcome outcome,
        RunStageAction(action, stage, stages_, *workers_[action.chunk],
                       [this](int microbatch) {
                         return TrainingMicrobatch(data_, options_, microbatch,
                                                   schedule_.params().microbatches);
                       },
                       *this, options_.slow_down));
    weight_version = outcome.weight_version;
    crossed = outcome.updates_crossed;
    if (outcome.loss) result_.losses[mb] = *outcome.loss;
  }
  driver_->Finished(action);
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
  int fault_at = fault_.after_actions;  // the action index a kExit or kHang fault fires at
  if (fault_.from_end && fault_.rank == rank_) {
    PB_ASSIGN_OR_RETURN(const std::vector<int> steps, OptimizerStepsPerRank(schedule_));
    const int passes = schedule_.splits_backward() ? 3 : 2;  // F, B (or F, I, W) per micro-batch
    fault_at = chunks_ * total_ * passes + steps[rank_] - 1 - fault_.after_actions;
  }
  while (true) {
    const std::int64_t seen = mailbox_.arrivals();
    for (const Mailbox::Arrival& arrival : mailbox_.TakeFresh()) {
      if (arrival.direction == kActivation) {
        driver_->ActivationArrived(arrival.chunk, arrival.mb);
      } else {
        driver_->GradientArrived(arrival.chunk, arrival.mb);
      }
    }
    const RankDriver::Step step = driver_->Poll();
    if (step.kind == RankDriver::Step::Kind::kError) return driver_->error();
    if (step.kind == RankDriver::Step::Kind::kDone) break;
    if (step.kind != RankDriver::Step::Kind::kStart) {
      PB_RETURN_IF_ERROR(WaitForInput(step, seen));
      continue;
    }
    if (fault_.kind == FaultInjection::Kind::kSlow && fault_.rank == rank_) {
      absl::SleepFor(fault_.delay);
    }
    const bool fault_fires =
        fault_.at_optimizer_step ? step.action.type == ActionType::kOptimizerStep
                                 : actions == fault_at;
    if ((fault_.kind == FaultInjection::Kind::kExit ||
         fault_.kind == FaultInjection::Kind::kHang) &&
        fault_.rank == rank_ && fault_fires) {
      if (fault_.kind == FaultInjection::Kind::kHang) absl::SleepFor(fault_.hang_for);
      if (fault_.kind == FaultInjection::Kind::kExit && fault_.exit_process) std::_Exit(3);
      return absl::AbortedError(
          absl::StrCat("rank ", rank_, ": fault injected after ", actions, " actions"));
    }
    PB_RETURN_IF_ERROR(Execute(step.action));
    ++actions;
  }
  PB_RETURN_IF_ERROR(driver_->CheckEverythingRan());
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
  if (options_.model == nullptr) return absl::InvalidArgumentError("no model to train");
  PB_RETURN_IF_ERROR(ValidatePartition(*options_.model, partition_, stages_));
  PB_RETURN_IF_ERROR(ValidateArchitectureTraining(options_, partition_));
  PB_ASSIGN_OR_RETURN(const torch::Device device, ResolveDevice(options_.device, rank_));
  driver_ = std::make_unique<RankDriver>(schedule_, rank_);
  // Each stage's cosine horizon is its optimizer steps in the run, as in the single-process run.
  PB_ASSIGN_OR_RETURN(const std::vector<int> optimizer_steps, OptimizerStepsPerRank(schedule_));
  for (int chunk = 0; chunk < chunks_; ++chunk) {
    const int stage = schedule_.StageOf(rank_, chunk);
    result_.model_stages.push_back(stage);
    StageWorkerOptions worker =
        WorkerOptionsFor(schedule_, stage, partition_, options_.model, options_.optimizer,
                         options_.seed,
                         HorizonSteps(optimizer_steps[rank_], schedule_.params().batches,
                                      options_.horizon_batches),
                         options_.architecture);
    worker.device = device;
    workers_.push_back(std::make_unique<StageWorker>(std::move(worker)));
  }
  result_.losses.assign(total_, 0.0);
  // Tensors arrive where the stage computes: on its GPU, NCCL receives into them in place.
  auto buffer = [this, device] {
    return torch::empty(options_.model->ActivationShape(options_.micro_batch_size),
                        torch::TensorOptions().device(device));
  };
  for (int chunk = 0; chunk < chunks_; ++chunk) {
    const int stage = schedule_.StageOf(rank_, chunk);
    if (stage > 0 && schedule_.RankOfStage(stage - 1) != rank_) {
      receivers_.push_back(std::make_unique<Receiver>(
          comm_, mailbox_, chunk, kActivation, schedule_.RankOfStage(stage - 1), total_,
          Channel(kActivation, stage),
          [this, stage](int mb) { return Tag(kActivation, stage, mb); }, buffer));
    }
    if (stage + 1 < stages_ && schedule_.RankOfStage(stage + 1) != rank_) {
      receivers_.push_back(std::make_unique<Receiver>(
          comm_, mailbox_, chunk, kGradient, schedule_.RankOfStage(stage + 1), total_,
          Channel(kGradient, stage),
          [this, stage](int mb) { return Tag(kGradient, stage, mb); }, buffer));
    }
  }
  absl::Status status = RunLoop();
  receivers_.clear();  // stops and joins the receiver threads, cancelling what they wait for
  if (!status.ok()) return WithFirstFailure(status);
  for (const auto& worker : workers_) {
    result_.final_weights.push_back(worker->weights());
    result_.max_drift.push_back(worker->max_drift());
    result_.max_drift_per_group.push_back(worker->max_drift_per_group());
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
