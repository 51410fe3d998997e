// Point-to-point tensor transport between pipeline ranks, on PyTorch's c10d.
//
// Rendezvous goes through a c10d TCPStore hosted by rank 0; transport is ProcessGroupGloo on CPU.
// c10d reports failures by throwing; this class is the one place that turns those exceptions into
// absl::Status, so nothing above it needs try/catch.
//
// Example:
//   PB_ASSIGN_OR_RETURN(auto comm, Communicator::Connect({.rank = 1, .world_size = 2,
//                                                        .master_port = 29500}));
//   PB_RETURN_IF_ERROR(comm->Send(activations, /*dst=*/2, /*tag=*/microbatch));
#ifndef PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_
#define PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_

#include <torch/torch.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace pipebench {

struct CommunicatorOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Bounds rendezvous and every send/recv: a dead or stuck peer becomes a DeadlineExceeded error
  // instead of a hang.
  absl::Duration timeout = absl::Seconds(60);
};

class Communicator {
 public:
  // Joins the group; blocks until all `world_size` ranks have joined or the timeout passes.
  static absl::StatusOr<std::unique_ptr<Communicator>> Connect(const CommunicatorOptions& options);

  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // Sends a contiguous CPU tensor to `dst`; returns once the tensor may be reused.
  absl::Status Send(const torch::Tensor& tensor, int dst, int tag);

  // Receives into `tensor`, which must already have the sender's shape and dtype.
  absl::Status Recv(torch::Tensor& tensor, int src, int tag);

 private:
  Communicator(CommunicatorOptions options, c10::intrusive_ptr<c10d::Store> store,
               c10::intrusive_ptr<c10d::ProcessGroup> group);

  absl::Status CheckPeer(int peer, const char* role) const;

  CommunicatorOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_COMMUNICATOR_H_
