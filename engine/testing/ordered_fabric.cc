#include "engine/testing/ordered_fabric.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace pipebench::testing {

namespace {

struct Op {
  bool send = false;
  torch::Tensor tensor;
  std::string what;
  bool done = false;
  bool aborted = false;
  std::string error;  // set when the matched tensors disagree in size
};

}  // namespace

struct OrderedFabric::State {
  explicit State(Streams streams) : per_channel(streams == Streams::kOnePerChannel) {}

  // (rank, peer, channel or 0) -> that rank's operations toward the peer, in posting order.
  using Key = std::tuple<int, int, int>;

  // Completes every send / receive pair at the heads of the two streams between `rank` and
  // `peer`; drops aborted operations from the heads. Called with `mutex` held.
  void Match(int rank, int peer, int channel) {
    std::deque<std::shared_ptr<Op>>& mine = streams[{rank, peer, channel}];
    std::deque<std::shared_ptr<Op>>& theirs = streams[{peer, rank, channel}];
    while (true) {
      while (!mine.empty() && mine.front()->aborted) mine.pop_front();
      while (!theirs.empty() && theirs.front()->aborted) theirs.pop_front();
      if (mine.empty() || theirs.empty() || mine.front()->send == theirs.front()->send) break;
      Op& send = mine.front()->send ? *mine.front() : *theirs.front();
      Op& recv = mine.front()->send ? *theirs.front() : *mine.front();
      if (send.tensor.sizes() != recv.tensor.sizes()) {
        send.error = recv.error = absl::StrCat(send.what, " met ", recv.what,
                                               ", a receive of another size");
      } else {
        recv.tensor.copy_(send.tensor);
      }
      send.done = recv.done = true;
      mine.pop_front();
      theirs.pop_front();
    }
    changed.notify_all();
  }

  const bool per_channel;
  std::mutex mutex;
  std::condition_variable changed;
  std::map<Key, std::deque<std::shared_ptr<Op>>> streams;
};

namespace {

class FabricPending final : public PendingTransfer {
 public:
  FabricPending(std::shared_ptr<OrderedFabric::State> state, std::shared_ptr<Op> op, int rank,
                int peer, int channel)
      : state_(std::move(state)), op_(std::move(op)), rank_(rank), peer_(peer),
        channel_(channel) {}

  absl::Status Wait(absl::Duration timeout) override {
    std::unique_lock<std::mutex> lock(state_->mutex);
    const bool finished = state_->changed.wait_for(
        lock, absl::ToChronoMilliseconds(timeout),
        [&] { return op_->done || op_->aborted; });
    if (!finished) {
      return absl::DeadlineExceededError(
          absl::StrCat(op_->what, " timed out after ", absl::FormatDuration(timeout)));
    }
    if (op_->aborted) return absl::CancelledError(op_->what + " was aborted");
    if (!op_->error.empty()) return absl::InternalError(op_->error);
    return absl::OkStatus();
  }

  void Abort() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (op_->done) return;
    op_->aborted = true;
    state_->Match(rank_, peer_, channel_);
  }

 private:
  std::shared_ptr<OrderedFabric::State> state_;
  std::shared_ptr<Op> op_;
  const int rank_, peer_, channel_;
};

class FabricTransport final : public PointToPointTransport {
 public:
  FabricTransport(std::shared_ptr<OrderedFabric::State> state, int rank)
      : state_(std::move(state)), rank_(rank) {}

  absl::StatusOr<std::unique_ptr<PendingTransfer>> Send(const torch::Tensor& tensor, int dst,
                                                       int channel, int tag) override {
    return Post(/*send=*/true, tensor,
                absl::StrCat("rank ", rank_, ": send to rank ", dst, " (tag ", tag, ")"), dst,
                channel);
  }

  absl::StatusOr<std::unique_ptr<PendingTransfer>> Recv(torch::Tensor tensor, int src,
                                                       int channel, int tag) override {
    return Post(/*send=*/false, std::move(tensor),
                absl::StrCat("rank ", rank_, ": receive from rank ", src, " (tag ", tag, ")"),
                src, channel);
  }

  bool matches_by_order() const override { return true; }
  torch::Device device() const override { return torch::kCPU; }

 private:
  std::unique_ptr<PendingTransfer> Post(bool send, torch::Tensor tensor, std::string what,
                                        int peer, int channel) {
    auto op = std::make_shared<Op>();
    op->send = send;
    op->tensor = std::move(tensor);
    op->what = std::move(what);
    const int stream = state_->per_channel ? channel : 0;
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->streams[{rank_, peer, stream}].push_back(op);
    state_->Match(rank_, peer, stream);
    return std::make_unique<FabricPending>(state_, op, rank_, peer, stream);
  }

  std::shared_ptr<OrderedFabric::State> state_;
  const int rank_;
};

}  // namespace

OrderedFabric::OrderedFabric(Streams streams) : state_(std::make_shared<State>(streams)) {}
OrderedFabric::~OrderedFabric() = default;

std::unique_ptr<PointToPointTransport> OrderedFabric::TransportOf(int rank) {
  return std::make_unique<FabricTransport>(state_, rank);
}

}  // namespace pipebench::testing
