// The layer under Communicator that moves tensors between two ranks: c10d's Gloo or NCCL process
// groups (communicator.cc), or an in-process fabric in tests (engine/dist/testing).
//
// Messages travel on channels. A channel is one ordered stream of messages between two ranks in
// one direction - the rank runtime uses one per (direction, receiving stage), so each carries one
// stage boundary's activations or gradients in micro-batch order. Gloo matches a receive to its
// send by tag, so the channel changes nothing there. NCCL matches point-to-point messages by the
// order they were posted in, and a rank's operations toward one peer run in that order on one
// stream: a receive posted ahead blocks every later send to the same peer on the same
// communicator. A transport that matches by order therefore gives each channel a stream of its
// own (an NCCL communicator per channel), and the Communicator checks that every channel's
// messages are posted in sequence.
#ifndef PIPEBENCH_ENGINE_DIST_TRANSPORT_H_
#define PIPEBENCH_ENGINE_DIST_TRANSPORT_H_

#include <torch/torch.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pipebench {

// A posted send or receive. Its tensor must not be touched until Wait returns OK.
class PendingTransfer {
 public:
  virtual ~PendingTransfer() = default;
  // Blocks until the transfer is done or `timeout` passes (an error naming what was waited for).
  virtual absl::Status Wait(absl::Duration timeout) = 0;
  // Cancels it; a Wait blocked on it, from any thread, returns an error at once.
  virtual void Abort() = 0;
};

class PointToPointTransport {
 public:
  virtual ~PointToPointTransport() = default;
  // Posts `tensor` (on device()) to rank `dst`, message `tag` of `channel`. Thread-safe.
  virtual absl::StatusOr<std::unique_ptr<PendingTransfer>> Send(const torch::Tensor& tensor,
                                                               int dst, int channel, int tag) = 0;
  // Posts a receive into `tensor` (on device(), the sender's shape and dtype). Thread-safe.
  virtual absl::StatusOr<std::unique_ptr<PendingTransfer>> Recv(torch::Tensor tensor, int src,
                                                               int channel, int tag) = 0;
  // True when messages match by posting order rather than by tag (NCCL).
  virtual bool matches_by_order() const = 0;
  // Where tensors travel from: CPU for Gloo, the rank's GPU for NCCL.
  virtual torch::Device device() const = 0;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_TRANSPORT_H_
