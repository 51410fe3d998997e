// Point-to-point tensor transport between pipeline ranks, on PyTorch's c10d.
//
// Rendezvous goes through a c10d TCPStore hosted by rank 0; transport (transport.h) is
// ProcessGroupGloo on CPU, or in a `--config=nccl` build ProcessGroupNCCL - one NCCL communicator
// per channel, since NCCL matches point-to-point messages by order, not by tag, and runs a rank's
// operations toward one peer in order. A tensor not on the transport's device (CPU tensors over
// NCCL, GPU tensors over Gloo) is staged through a copy on it; a rank computing on its GPU with
// NCCL sends and receives in place.
// c10d reports failures by throwing; this file is the one place that turns those exceptions into
// absl::Status, so nothing above it needs try/catch.
//
// Example:
//   PB_ASSIGN_OR_RETURN(auto comm, Communicator::Connect({.rank = 1, .world_size = 2,
//                                                        .master_port = 29500}));
//   PB_RETURN_IF_ERROR(comm->Send(activations, /*dst=*/2, /*tag=*/microbatch));
#ifndef PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_
#define PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/dist/transport.h"

namespace c10d {
class Store;
}  // namespace c10d

namespace pipebench {

// A point-to-point transfer in flight. Its tensor must not be touched until Wait returns.
class Transfer {
 public:
  // `staging`, when defined, is the device tensor a receive lands in; Wait copies it to `tensor`.
  Transfer(std::unique_ptr<PendingTransfer> pending, torch::Tensor tensor,
           std::string description, absl::Duration timeout,
           torch::Tensor staging = torch::Tensor());
  // Blocks up to the communicator's timeout. Errors name the peer rank.
  absl::Status Wait();
  // Cancels the transfer; a Wait blocked on it (from any thread) returns an error at once.
  void Abort();
  const torch::Tensor& tensor() const { return tensor_; }

 private:
  std::unique_ptr<PendingTransfer> pending_;
  torch::Tensor tensor_;
  torch::Tensor staging_;
  std::string description_;
  absl::Duration timeout_;
};

enum class Transport { kGloo, kNccl };

// "gloo" or "nccl".
absl::StatusOr<Transport> ParseTransport(const std::string& name);

struct CommunicatorOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Bounds every send, receive and store lookup: a dead or stuck peer becomes an error naming it
  // instead of a hang.
  absl::Duration timeout = absl::Seconds(60);
  // Bounds joining the group, which waits for the slowest process to start: the store and the
  // transport's own handshake together, not each.
  absl::Duration rendezvous_timeout = absl::Seconds(120);
  // Names the job, as torchrun's rdzv_id: a rank whose run id differs from rank 0's (another job
  // that reached this rendezvous on the same port) is refused with FailedPrecondition naming
  // both, and each job's keys live under its own prefix of the store. Empty: no check.
  std::string run_id;
  // kNccl needs a CUDA build (ci/gpu/build.sh or `--config=nccl`); elsewhere Connect fails with
  // FailedPrecondition.
  Transport transport = Transport::kGloo;
  // The device this rank computes on. kNccl runs on it when it is a GPU (else on GPU
  // rank % visible, staging CPU tensors through it); Gloo always runs on the CPU.
  torch::Device device = torch::kCPU;
  // Gloo listens on this interface's address (GLOO_SOCKET_IFNAME, as with torchrun); empty: on
  // the address this host reaches master_addr through (local_address.h), which on one machine
  // is loopback and on several is the one the other hosts can reach.
  std::string gloo_interface;
};

class Communicator {
 public:
  // Joins the group; blocks until all `world_size` ranks have joined or the timeout passes.
  static absl::StatusOr<std::unique_ptr<Communicator>> Connect(const CommunicatorOptions& options);
  // A communicator over a transport of the caller's (an in-process fabric in tests), with `store`
  // for Publish / Fetch (a c10d::HashStore shared by in-process ranks). options.transport and the
  // rendezvous fields are not read.
  static std::unique_ptr<Communicator> Over(const CommunicatorOptions& options,
                                            std::unique_ptr<PointToPointTransport> transport,
                                            c10::intrusive_ptr<c10d::Store> store);

  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  absl::Duration timeout() const { return options_.timeout; }

  // Sends a tensor to `dst`; returns once the tensor may be reused.
  absl::Status Send(const torch::Tensor& tensor, int dst, int tag, int channel = 0);

  // Receives into `tensor`, which must already have the sender's shape and dtype.
  absl::Status Recv(torch::Tensor& tensor, int src, int tag, int channel = 0);

  // Asynchronous forms: the transfer proceeds while the caller computes. On a transport that
  // matches by order, each channel's messages to (from) one peer must be posted with consecutive
  // tags, as its receiver (sender) posts them; a message out of sequence is FailedPrecondition
  // naming the channel, not a tensor delivered to the wrong receive.
  absl::StatusOr<std::unique_ptr<Transfer>> StartSend(const torch::Tensor& tensor, int dst,
                                                      int tag, int channel = 0);
  absl::StatusOr<std::unique_ptr<Transfer>> StartRecv(torch::Tensor buffer, int src, int tag,
                                                      int channel = 0);

  // Small out-of-band values through the rendezvous store (results, failure reports).
  absl::Status Publish(const std::string& key, const std::string& value);
  // Waits up to the timeout for `key`.
  absl::StatusOr<std::string> Fetch(const std::string& key);
  // Non-blocking; false also when the store is unreachable.
  bool Has(const std::string& key);

 private:
  Communicator(CommunicatorOptions options, c10::intrusive_ptr<c10d::Store> store,
               std::unique_ptr<PointToPointTransport> transport);

  absl::Status CheckPeer(int peer, const char* role) const;
  // On a transport that matches by order: OK when `tag` follows the last one posted on
  // (peer, channel) in this direction.
  absl::Status CheckSequence(bool send, int peer, int channel, int tag);

  CommunicatorOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::unique_ptr<PointToPointTransport> transport_;
  std::mutex sequence_mutex_;
  // (send?, peer, channel) -> the last tag posted; guarded by sequence_mutex_.
  std::map<std::tuple<bool, int, int>, int> last_tag_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_
