// Test-only helper for code that runs the distributed runtime: every rank of a schedule in its
// own thread, over Gloo on 127.0.0.1 or over a transport of the test's.
#ifndef PIPEBENCH_ENGINE_TESTING_RANK_FIXTURES_H_
#define PIPEBENCH_ENGINE_TESTING_RANK_FIXTURES_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/dist/communicator.h"
#include "engine/dist/rank_runtime.h"
#include "engine/dist/transport.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/schedule/schedule.h"

namespace pipebench::testing {

// Runs rank 0..p-1 of `schedule` on `options.model` cut into equal layers, one thread each, and
// returns each rank's result (or the error that stopped it). Over Gloo on 127.0.0.1, or NCCL in a
// CUDA build (each rank on options.device).
std::vector<absl::StatusOr<RankResult>> RunRanksInThreads(
    const Schedule& schedule, const TokenDataset& data, const ExecutorOptions& options,
    const FaultInjection& fault = {}, absl::Duration timeout = absl::Seconds(30),
    Transport transport = Transport::kGloo);

// The same over `transport_of(rank)` (an in-process fabric), the ranks sharing one
// c10d::HashStore for what they publish.
std::vector<absl::StatusOr<RankResult>> RunRanksOverTransport(
    const Schedule& schedule, const TokenDataset& data, const ExecutorOptions& options,
    const std::function<std::unique_ptr<PointToPointTransport>(int rank)>& transport_of,
    absl::Duration timeout);

}  // namespace pipebench::testing

#endif  // PIPEBENCH_ENGINE_TESTING_RANK_FIXTURES_H_
