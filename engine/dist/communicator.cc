#include "engine/dist/communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef PIPEBENCH_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdlib>
#endif

#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/dist/local_address.h"

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

}  // namespace

absl::StatusOr<Transport> ParseTransport(const std::string& name) {
  if (name == "gloo") return Transport::kGloo;
  if (name == "nccl") return Transport::kNccl;
  return absl::InvalidArgumentError(
      absl::StrCat("transport must be gloo or nccl, got '", name, "'"));
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Connect(
    const CommunicatorOptions& options) {
#ifndef PIPEBENCH_WITH_NCCL
  if (options.transport == Transport::kNccl) {
    return absl::FailedPreconditionError(
        "this build has no NCCL transport; build with --config=nccl against a CUDA LibTorch "
        "(PIPEBENCH_CUDA_LIBTORCH=<its root>), or use gloo");
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
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = ToChrono(options.rendezvous_timeout);
    store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    store->setTimeout(ToChrono(options.timeout));
  } catch (const std::exception& e) {
    return FromException(e, absl::StrCat("TCPStore rendezvous failed for ", where));
  }
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  torch::Device device = torch::kCPU;
  if (options.transport == Transport::kNccl) {
#ifdef PIPEBENCH_WITH_NCCL
    try {
      const int devices = c10::cuda::device_count();
      if (devices < 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("NCCL transport: no CUDA device visible to ", where));
      }
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options.rank % devices));
      c10::cuda::set_device(device.index());
      // Blocking waits make a dead or stuck peer an error after the timeout, as with Gloo.
      setenv("NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = ToChrono(options.timeout);
      group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, options.rank,
                                                          options.world_size, nccl_options);
    } catch (const std::exception& e) {
      return FromException(e, absl::StrCat("NCCL process group setup failed for ", where));
    }
#endif
  } else {
    const absl::StatusOr<std::string> listen =
        options.gloo_interface.empty() ? LocalAddressToward(options.master_addr)
                                       : InterfaceAddress(options.gloo_interface);
    if (!listen.ok()) {
      return absl::Status(listen.status().code(),
                          absl::StrCat("Gloo setup failed for ", where, ": ",
                                       listen.status().message()));
    }
    try {
      auto gloo_options =
          c10d::ProcessGroupGloo::Options::create(ToChrono(options.rendezvous_timeout));
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(*listen));
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                          options.world_size, gloo_options);
    } catch (const std::exception& e) {
      return FromException(e, absl::StrCat("Gloo process group setup failed for ", where));
    }
  }
  return std::unique_ptr<Communicator>(
      new Communicator(options, std::move(store), std::move(group), device));
}

Communicator::Communicator(CommunicatorOptions options, c10::intrusive_ptr<c10d::Store> store,
                           c10::intrusive_ptr<c10d::ProcessGroup> group, torch::Device device)
    : options_(std::move(options)),
      store_(std::move(store)),
      group_(std::move(group)),
      device_(device) {}

Communicator::~Communicator() = default;

absl::Status Communicator::CheckPeer(int peer, const char* role) const {
  if (peer < 0 || peer >= options_.world_size || peer == options_.rank) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options_.rank, ": ", role, " rank ",
                                                   peer, " is not another rank of ",
                                                   options_.world_size));
  }
  return absl::OkStatus();
}

Transfer::Transfer(c10::intrusive_ptr<c10d::Work> work, torch::Tensor tensor,
                   std::string description, absl::Duration timeout, torch::Tensor staging)
    : work_(std::move(work)),
      tensor_(std::move(tensor)),
      staging_(std::move(staging)),
      description_(std::move(description)),
      timeout_(timeout) {}

Transfer::~Transfer() = default;

void Transfer::Abort() {
  try {
    work_->abort();
  } catch (const std::exception&) {
    // Already finished or failed: nothing to cancel.
  }
}

absl::Status Transfer::Wait() {
  try {
    work_->wait(ToChrono(timeout_));
    if (staging_.defined()) tensor_.copy_(staging_);
  } catch (const std::exception& e) {
    return FromException(e, description_ + " failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Transfer>> Communicator::StartSend(const torch::Tensor& tensor,
                                                                  int dst, int tag) {
  if (absl::Status s = CheckPeer(dst, "destination"); !s.ok()) return s;
  const std::string what =
      absl::StrCat("rank ", options_.rank, ": send to rank ", dst, " (tag ", tag, ")");
  try {
    std::vector<at::Tensor> tensors = {tensor.to(device_).contiguous()};
    auto work = group_->send(tensors, dst, tag);
    return std::make_unique<Transfer>(std::move(work), tensors[0], what, options_.timeout);
  } catch (const std::exception& e) {
    return FromException(e, what + " failed");
  }
}

absl::StatusOr<std::unique_ptr<Transfer>> Communicator::StartRecv(torch::Tensor buffer, int src,
                                                                  int tag) {
  if (absl::Status s = CheckPeer(src, "source"); !s.ok()) return s;
  if (!buffer.is_contiguous()) {
    return absl::InvalidArgumentError("receives need a contiguous destination tensor");
  }
  const std::string what =
      absl::StrCat("rank ", options_.rank, ": receive from rank ", src, " (tag ", tag, ")");
  try {
    torch::Tensor staging;
    if (buffer.device() != device_) {
      staging = torch::empty(buffer.sizes(), buffer.options().device(device_));
    }
    std::vector<at::Tensor> tensors = {staging.defined() ? staging : buffer};
    auto work = group_->recv(tensors, src, tag);
    return std::make_unique<Transfer>(std::move(work), buffer, what, options_.timeout, staging);
  } catch (const std::exception& e) {
    return FromException(e, what + " failed");
  }
}

absl::Status Communicator::Send(const torch::Tensor& tensor, int dst, int tag) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = StartSend(tensor, dst, tag);
  return transfer.ok() ? (*transfer)->Wait() : transfer.status();
}

absl::Status Communicator::Recv(torch::Tensor& tensor, int src, int tag) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = StartRecv(tensor, src, tag);
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
