#include "engine/testing/rank_fixtures.h"

#include <thread>

#include "engine/dist/communicator.h"
#include "engine/dist/free_port.h"
#include "engine/model/partition.h"

namespace pipebench::testing {

std::vector<absl::StatusOr<RankResult>> RunRanksInThreads(const Schedule& schedule,
                                                          const TokenDataset& data,
                                                          const ExecutorOptions& options,
                                                          const FaultInjection& fault,
                                                          absl::Duration timeout) {
  const int p = schedule.params().stages;
  absl::StatusOr<std::vector<UnitRange>> partition =
      PartitionByLayers(*options.model, schedule.params().model_stages());
  if (!partition.ok()) return {static_cast<size_t>(p), partition.status()};
  const int port = UnusedLoopbackPort();
  std::vector<absl::StatusOr<RankResult>> results(p, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < p; ++rank) {
    threads.emplace_back([&, rank] {
      CommunicatorOptions comm_options;
      comm_options.rank = rank;
      comm_options.world_size = p;
      comm_options.master_port = port;
      comm_options.timeout = timeout;
      auto comm = Communicator::Connect(comm_options);
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

}  // namespace pipebench::testing
