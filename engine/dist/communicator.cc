#include "engine/dist/communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef PIPEBENCH_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdlib>
#endif

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/dist/local_address.h"
#include "engine/platform/device.h"
#include "engine/platform/torch_compat.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// c10d signals timeouts and lost peers with exceptions whose text is the only distinction.
absl::Status FromException(const std::exception& e, const std::string& context) {
  const std::string what = e.what();
  const std::string message = absl::StrCat(context, ": ", what.substr(0, what.find('\n')));
  if (absl::StrContains(what, "imed out") || absl::StrContains(what, "imeout")) {
    return absl::DeadlineExceededError(message);
  }
  if (absl::StrContains(what, "ddress already in use")) {
    return absl::FailedPreconditionError(message);
  }
  return absl::UnavailableError(message);
}

// A c10d operation in flight.
class C10dPending final : public PendingTransfer {
 public:
  C10dPending(c10::intrusive_ptr<c10d::Work> work, std::string description)
      : work_(std::move(work)), description_(std::move(description)) {}

  absl::Status Wait(absl::Duration timeout) override {
    try {
      work_->wait(ToChrono(timeout));
    } catch (const std::exception& e) {
      return FromException(e, description_ + " failed");
    }
    return absl::OkStatus();
  }

  void Abort() override {
    try {
      work_->abort();
    } catch (const std::exception&) {
      // Already finished or failed: nothing to cancel.
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::string description_;
};

// c10d process groups: Gloo's one group carries every channel (its messages match by tag);
// with NCCL, `group_of` makes one group per channel on first use, so no channel's receive posted
// ahead can hold up another channel's send on a shared stream.
class C10dTransport final : public PointToPointTransport {
 public:
  using GroupFactory = std::function<c10::intrusive_ptr<PointToPointGroup>(int channel)>;

  C10dTransport(int rank, GroupFactory group_of, bool group_per_channel, torch::Device device)
      : rank_(rank), group_of_(std::move(group_of)), group_per_channel_(group_per_channel),
        device_(device) {}

  absl::StatusOr<std::unique_ptr<PendingTransfer>> Send(const torch::Tensor& tensor, int dst,
                                                       int channel, int tag) override {
    return Post(/*send=*/true, tensor, dst, channel, tag);
  }

  absl::StatusOr<std::unique_ptr<PendingTransfer>> Recv(torch::Tensor tensor, int src,
                                                       int channel, int tag) override {
    return Post(/*send=*/false, tensor, src, channel, tag);
  }

  bool matches_by_order() const override { return group_per_channel_; }
  torch::Device device() const override { return device_; }

 private:
  absl::StatusOr<std::unique_ptr<PendingTransfer>> Post(bool send, const torch::Tensor& tensor,
                                                       int peer, int channel, int tag) {
    const std::string what =
        absl::StrCat("rank ", rank_, send ? ": send to rank " : ": receive from rank ", peer,
                     " (channel ", channel, ", tag ", tag, ")");
    try {
      std::vector<at::Tensor> tensors = {tensor};
      const c10::intrusive_ptr<PointToPointGroup> group = Group(channel);
      return std::unique_ptr<PendingTransfer>(std::make_unique<C10dPending>(
          send ? group->send(tensors, peer, tag) : group->recv(tensors, peer, tag), what));
    } catch (const std::exception& e) {
      return FromException(e, what + " failed");
    }
  }

  c10::intrusive_ptr<PointToPointGroup> Group(int channel) {
    const int key = group_per_channel_ ? channel : 0;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = groups_.find(key);
    if (it == groups_.end()) it = groups_.emplace(key, group_of_(key)).first;
    return it->second;
  }

  const int rank_;
  const GroupFactory group_of_;
  const bool group_per_channel_;
  const torch::Device device_;
  std::mutex mutex_;  // receiver threads post concurrently
  std::map<int, c10::intrusive_ptr<PointToPointGroup>> groups_;
};

// Rank 0 posts the run id; every other rank reads it and leaves if it is another job's. The rest of
// the rendezvous (the transport's keys, Publish / Fetch) happens under the run's own prefix, so
// even ranks of two jobs that met would not read each other's keys.
absl::StatusOr<c10::intrusive_ptr<c10d::Store>> JoinRun(c10::intrusive_ptr<c10d::Store> store,
                                                        const CommunicatorOptions& options,
                                                        const std::string& where) {
  constexpr char kRunIdKey[] = "pipebench/run_id";
  try {
    if (options.rank == 0) {
      store->set(kRunIdKey, std::vector<uint8_t>(options.run_id.begin(), options.run_id.end()));
    } else {
      const std::vector<uint8_t> posted = store->get(kRunIdKey);
      const std::string theirs(posted.begin(), posted.end());
      if (theirs != options.run_id) {
        return absl::FailedPreconditionError(absl::StrCat(
            where, ", run '", options.run_id, "', reached the rendezvous of another job, run '",
            theirs, "': two jobs share port ", options.master_port,
            "; give each its own --master_port"));
      }
    }
  } catch (const std::exception& e) {
    return FromException(e, absl::StrCat("rendezvous failed for ", where));
  }
  return c10::intrusive_ptr<c10d::Store>(
      c10::make_intrusive<c10d::PrefixStore>("run/" + options.run_id, std::move(store)));
}

}  // namespace

absl::StatusOr<Transport> ParseTransport(const std::string& name) {
  if (name == "gloo") return Transport::kGloo;
  if (name == "nccl") return Transport::kNccl;
  return absl::InvalidArgumentError(
      absl::StrCat("transport must be gloo or nccl, got '", name, "'"));
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Connect(
    const CommunicatorOptions& options) {
#ifndef PIPEBENCH_WITH_CUDA
  if (options.transport == Transport::kNccl) {
    return absl::FailedPreconditionError(
        "this build has no NCCL transport; build with ci/gpu/build.sh (or Bazel's --config=nccl) "
        "against a CUDA LibTorch, or use gloo");
  }
#endif
  if (options.world_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("world_size must be >= 1, got ", options.world_size));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank must be in [0, world_size=",
                                                   options.world_size, "), got ", options.rank));
  }
  if (options.master_port < 1 || options.master_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("master_port must be in [1, 65535], got ", options.master_port));
  }
  const std::string where = absl::StrCat("rank ", options.rank, " of ", options.world_size,
                                         " at ", options.master_addr, ":", options.master_port);
  // An address that does not resolve fails now, not after the store's connection retries.
  const absl::StatusOr<std::string> route = LocalAddressToward(options.master_addr);
  if (!route.ok()) {
    return absl::Status(route.status().code(), absl::StrCat("rendezvous failed for ", where, ": ",
                                                            route.status().message()));
  }
  const absl::Time deadline = absl::Now() + options.rendezvous_timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = ToChrono(options.rendezvous_timeout);
    store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    store->setTimeout(ToChrono(std::max(absl::Seconds(1), deadline - absl::Now())));
  } catch (const std::exception& e) {
    return FromException(e, absl::StrCat("TCPStore rendezvous failed for ", where));
  }
  if (!options.run_id.empty()) {
    PB_ASSIGN_OR_RETURN(store, JoinRun(std::move(store), options, where));
  }
  // The transport's handshake gets what is left of the rendezvous time.
  const absl::Duration join_left = std::max(absl::Seconds(1), deadline - absl::Now());
  store->setTimeout(ToChrono(options.timeout));
  std::unique_ptr<PointToPointTransport> transport;
  if (options.transport == Transport::kNccl) {
#ifdef PIPEBENCH_WITH_CUDA
    // The rank's compute GPU when it computes on one; else its own GPU, rank % visible.
    const absl::StatusOr<torch::Device> device =
        ResolveDevice(options.device.is_cuda() ? options.device : torch::Device(torch::kCUDA),
                      options.rank);
    if (!device.ok()) {
      return absl::Status(device.status().code(),
                          absl::StrCat("NCCL transport for ", where, ": ",
                                       device.status().message()));
    }
    try {
      c10::cuda::set_device(device->index());
      // Blocking waits make a dead or stuck peer an error after the timeout, as with Gloo. Set
      // once: ranks in threads of one process (tests) connect concurrently, and setenv is not
      // safe beside another thread's getenv.
      static std::once_flag blocking_wait;
      std::call_once(blocking_wait, [] {
        for (const char* variable : kNcclBlockingWaitVariables) setenv(variable, "1", 0);
      });
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = ToChrono(options.timeout);
      // One group per channel, each under its own store prefix; NCCL sets up a pair's
      // communicator on the first message, so groups no message uses cost nothing.
      auto group_of = [store, rank = options.rank, size = options.world_size,
                       nccl_options](int channel) -> c10::intrusive_ptr<PointToPointGroup> {
        return c10::make_intrusive<c10d::ProcessGroupNCCL>(
            c10::make_intrusive<c10d::PrefixStore>(absl::StrCat("channel", channel), store), rank,
            size, nccl_options);
      };
      transport = std::make_unique<C10dTransport>(options.rank, std::move(group_of),
                                                  /*group_per_channel=*/true, *device);
    } catch (const std::exception& e) {
      return FromException(e, absl::StrCat("NCCL process group setup failed for ", where));
    }
#endif
  } else {
    const absl::StatusOr<std::string> listen =
        options.gloo_interface.empty() ? route : InterfaceAddress(options.gloo_interface);
    if (!listen.ok()) {
      return absl::Status(listen.status().code(),
                          absl::StrCat("Gloo setup failed for ", where, ": ",
                                       listen.status().message()));
    }
    try {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(ToChrono(join_left));
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(*listen));
      c10::intrusive_ptr<PointToPointGroup> group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          store, options.rank, options.world_size, gloo_options);
      transport = std::make_unique<C10dTransport>(
          options.rank, [group](int) { return group; }, /*group_per_channel=*/false,
          torch::kCPU);
    } catch (const std::exception& e) {
      return FromException(e, absl::StrCat("Gloo process group setup failed for ", where));
    }
  }
  return std::unique_ptr<Communicator>(
      new Communicator(options, std::move(store), std::move(transport)));
}

std::unique_ptr<Communicator> Communicator::Over(const CommunicatorOptions& options,
                                                 std::unique_ptr<PointToPointTransport> transport,
                                                 c10::intrusive_ptr<c10d::Store> store) {
  return std::unique_ptr<Communicator>(
      new Communicator(options, std::move(store), std::move(transport)));
}

Communicator::Communicator(CommunicatorOptions options, c10::intrusive_ptr<c10d::Store> store,
                           std::unique_ptr<PointToPointTransport> transport)
    : options_(std::move(options)), store_(std::move(store)), transport_(std::move(transport)) {}

Communicator::~Communicator() = default;

absl::Status Communicator::CheckPeer(int peer, const char* role) const {
  if (peer < 0 || peer >= options_.world_size || peer == options_.rank) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options_.rank, ": ", role, " rank ",
                                                   peer, " is not another rank of ",
                                                   options_.world_size));
  }
  return absl::OkStatus();
}

absl::Status Communicator::CheckSequence(bool send, int peer, int channel, int tag) {
  if (!transport_->matches_by_order()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(sequence_mutex_);
  auto [it, first] = last_tag_.try_emplace({send, peer, channel}, tag);
  if (first) return absl::OkStatus();
  if (tag != it->second + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rank ", options_.rank, ": ", send ? "send to" : "receive from", " rank ", peer,
        " on channel ", channel, " has tag ", tag, " after ", it->second,
        "; this transport matches messages by order, so each channel's must follow in "
        "sequence"));
  }
  it->second = tag;
  return absl::OkStatus();
}

Transfer::Transfer(std::unique_ptr<PendingTransfer> pending, torch::Tensor tensor,
                   std::string description, absl::Duration timeout, torch::Tensor staging)
    : pending_(std::move(pending)),
      tensor_(std::move(tensor)),
      staging_(std::move(staging)),
      description_(std::move(description)),
      timeout_(timeout) {}

void Transfer::Abort() { pending_->Abort(); }

absl::Status Transfer::Wait() {
  PB_RETURN_IF_ERROR(pending_->Wait(timeout_));
  if (!staging_.defined()) return absl::OkStatus();
  try {
    tensor_.copy_(staging_);
  } catch (const std::exception& e) {
    return FromException(e, description_ + ": copying from the device failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Transfer>> Communicator::StartSend(const torch::Tensor& tensor,
                                                                  int dst, int tag,
                                                                  int channel) {
  PB_RETURN_IF_ERROR(CheckPeer(dst, "destination"));
  PB_RETURN_IF_ERROR(CheckSequence(/*send=*/true, dst, channel, tag));
  const std::string what =
      absl::StrCat("rank ", options_.rank, ": send to rank ", dst, " (tag ", tag, ")");
  torch::Tensor on_device;
  try {
    on_device = tensor.to(transport_->device()).contiguous();
  } catch (const std::exception& e) {
    return FromException(e, what + " failed");
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<PendingTransfer> pending,
                      transport_->Send(on_device, dst, channel, tag));
  return std::make_unique<Transfer>(std::move(pending), on_device, what, options_.timeout);
}

absl::StatusOr<std::unique_ptr<Transfer>> Communicator::StartRecv(torch::Tensor buffer, int src,
                                                                  int tag, int channel) {
  PB_RETURN_IF_ERROR(CheckPeer(src, "source"));
  if (!buffer.is_contiguous()) {
    return absl::InvalidArgumentError("receives need a contiguous destination tensor");
  }
  PB_RETURN_IF_ERROR(CheckSequence(/*send=*/false, src, channel, tag));
  const std::string what =
      absl::StrCat("rank ", options_.rank, ": receive from rank ", src, " (tag ", tag, ")");
  torch::Tensor staging;
  try {
    if (buffer.device() != transport_->device()) {
      staging = torch::empty(buffer.sizes(), buffer.options().device(transport_->device()));
    }
  } catch (const std::exception& e) {
    return FromException(e, what + " failed");
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<PendingTransfer> pending,
                      transport_->Recv(staging.defined() ? staging : buffer, src, channel, tag));
  return std::make_unique<Transfer>(std::move(pending), buffer, what, options_.timeout, staging);
}

absl::Status Communicator::Send(const torch::Tensor& tensor, int dst, int tag, int channel) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = StartSend(tensor, dst, tag, channel);
  return transfer.ok() ? (*transfer)->Wait() : transfer.status();
}

absl::Status Communicator::Recv(torch::Tensor& tensor, int src, int tag, int channel) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = StartRecv(tensor, src, tag, channel);
  return transfer.ok() ? (*transfer)->Wait() : transfer.status();
}

absl::Status Communicator::Publish(const std::string& key, const std::string& value) {
  try {
    store_->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    return FromException(e, absl::StrCat("rank ", options_.rank, ": publishing '", key, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Communicator::Fetch(const std::string& key) {
  try {
    store_->wait({key}, ToChrono(options_.timeout));
    const std::vector<uint8_t> value = store_->get(key);
    return std::string(value.begin(), value.end());
  } catch (const std::exception& e) {
    return FromException(e, absl::StrCat("rank ", options_.rank, ": fetching '", key, "'"));
  }
}

bool Communicator::Has(const std::string& key) {
  try {
    return store_->check({key});
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pipebench
