// Test-only point-to-point transport with NCCL's matching rule, for ranks in one process: each
// rank's operations toward one peer run one at a time in the order they were posted, and a send
// completes together with the receive it meets at the head of the peer's stream (tags are
// ignored, as NCCL ignores them). Two receives (or two sends) at the heads of a pair's streams wait
// until one is aborted or times out - the hazard of posting receives ahead on a stream shared with
// sends. Streams are per peer, as one NCCL communicator has, or per (peer, channel), as the
// communicator-per-channel transport has.
#ifndef PIPEBENCH_ENGINE_TESTING_ORDERED_FABRIC_H_
#define PIPEBENCH_ENGINE_TESTING_ORDERED_FABRIC_H_

#include <memory>

#include "engine/dist/transport.h"

namespace pipebench::testing {

class OrderedFabric {
 public:
  enum class Streams { kOnePerPeer, kOnePerChannel };
  explicit OrderedFabric(Streams streams);
  ~OrderedFabric();

  // Rank `rank`'s end (CPU tensors); it shares the fabric's streams, whichever goes first.
  std::unique_ptr<PointToPointTransport> TransportOf(int rank);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace pipebench::testing

#endif  // PIPEBENCH_ENGINE_TESTING_ORDERED_FABRIC_H_
