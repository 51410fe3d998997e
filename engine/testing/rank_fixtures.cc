#include "engine/testing/rank_fixtures.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <thread>

#include "engine/dist/communicator.h"
#include "engine/dist/free_port.h"
#include "engine/model/partition.h"

namespace pipebench::testing {

namespace {

// Runs rank 0..p-1 of `schedule`, one thread each, each over the communicator `connect` gives it.
std::vector<absl::StatusOr<RankResult>> RunRanks(
    const Schedule& schedule, const TokenDataset& data, const ExecutorOptions& options,
    const FaultInjection& fault,
    const std::function<absl::StatusOr<std::unique_ptr<Communicator>>(int rank)>& connect) {
  const int p = schedule.params().stages;
  absl::StatusOr<std::vector<UnitRange>> partition =
      PartitionByLayers(*options.model, schedule.params().model_stages());
  if (!partition.ok()) return {static_cast<size_t>(p), partition.status()};
  std::vector<absl::StatusOr<RankResult>> results(p, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < p; ++rank) {
    threads.emplace_back([&, rank] {
      absl::StatusOr<std::unique_ptr<Communicator>> comm = connect(rank);
      if (!comm.ok()) {
        results[rank] = comm.status();
        return;
      }
      results[rank] = RunRank(schedule, *partition, data, options, **comm, fault);
    });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

}  // namespace

std::vector<absl::StatusOr<RankResult>> RunRanksInThreads(const Schedule& schedule,
                                                          const TokenDataset& data,
                                                          const ExecutorOptions& options,
                                                          const FaultInjection& fault,
                                                          absl::Duration timeout,
                                                          Transport transport) {
  const int port = UnusedLoopbackPort();
  return RunRanks(schedule, data, options, fault,
                  [&](int rank) -> absl::StatusOr<std::unique_ptr<Communicator>> {
                    CommunicatorOptions comm_options;
                    comm_options.rank = rank;
                    comm_options.world_size = schedule.params().stages;
                    comm_options.master_port = port;
                    comm_options.timeout = timeout;
                    comm_options.transport = transport;
                    comm_options.device = options.device;
                    return Communicator::Connect(comm_options);
                  });
}

std::vector<absl::StatusOr<RankResult>> RunRanksOverTransport(
    const Schedule& schedule, const TokenDataset& data, const ExecutorOptions& options,
    const std::function<std::unique_ptr<PointToPointTransport>(int rank)>& transport_of,
    absl::Duration timeout) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  store->setTimeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  return RunRanks(schedule, data, options, {},
                  [&](int rank) -> absl::StatusOr<std::unique_ptr<Communicator>> {
                    CommunicatorOptions comm_options;
                    comm_options.rank = rank;
                    comm_options.world_size = schedule.params().stages;
                    comm_options.timeout = timeout;
                    return Communicator::Over(comm_options, transport_of(rank), store);
                  });
}

}  // namespace pipebench::testing
