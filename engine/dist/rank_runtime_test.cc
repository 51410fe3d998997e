#include "engine/dist/rank_runtime.h"

#include <chrono>
#include <string>

#include "engine/dist/free_port.h"
#include "engine/exec/executor.h"
#include "engine/model/partition.h"
#include "engine/schedule/custom_schedule.h"
#include "engine/schedule/registry.h"
#include "engine/testing/ordered_fabric.h"
#include "engine/testing/rank_fixtures.h"
#include "engine/testing/schedule_fixtures.h"
#include "engine/testing/training_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::Params;

ExecutorOptions Options() { return testing::TinyTrainingOptions(); }

const TokenDataset& Data() { return testing::SyntheticData(); }

std::vector<absl::StatusOr<RankResult>> RunRanks(const Schedule& schedule,
                                                 const ExecutorOptions& options,
                                                 const FaultInjection& fault = {},
                                                 absl::Duration timeout = absl::Seconds(30)) {
  return testing::RunRanksInThreads(schedule, Data(), options, fault, timeout);
}

// Every schedule whose per-rank order is a fixed list (so it cannot depend on timing) trains the
// same weights and losses in p processes as in one.
TEST(RankRuntimeTest, EveryFixedOrderScheduleMatchesTheSingleProcessExecutor) {
  const ExecutorOptions options = Options();
  for (const char* name : {"1f1b_flush", "gpipe", "zb_h1", "zb_h2", "pipedream", "pipedream_2bw",
                           "async_naive", "pipemare"}) {
    for (int p : {2, 4}) {
      SCOPED_TRACE(::testing::Message() << name << " p=" << p);
      auto schedule = MakeSchedule(name, Params(p, 4, 3));
      ASSERT_TRUE(schedule.ok());
      const auto partition = *PartitionByLayers(*options.model, p);
      auto local = RunPipeline(**schedule, CostModel(), partition, Data(), options);
      ASSERT_TRUE(local.ok()) << local.status();
      const auto ranks = RunRanks(**schedule, options);
      for (int rank = 0; rank < p; ++rank) {
        ASSERT_TRUE(ranks[rank].ok()) << "rank " << rank << ": " << ranks[rank].status();
        const auto& weights = ranks[rank]->final_weights[0];
        for (size_t k = 0; k < weights.size(); ++k) {
          EXPECT_TRUE(torch::allclose(weights[k], local->final_weights[rank][k], 1e-5, 1e-6))
              << "rank " << rank << " tensor " << k;
        }
      }
      const std::vector<double>& losses = ranks[p - 1]->losses;
      for (size_t mb = 0; mb < losses.size(); ++mb) {
        EXPECT_NEAR(losses[mb], local->microbatches[mb].loss, 1e-6) << "micro-batch " << mb;
      }
    }
  }
}

TEST(RankRuntimeTest, AsynchronousSchedulesRunEventDrivenWithinTheirDriftBound) {
  const ExecutorOptions options = Options();
  for (const char* name : {"paci", "pipedream"}) {
    auto schedule = MakeSchedule(name, Params(4, 4, 4, 2));
    ASSERT_TRUE(schedule.ok());
    const auto ranks = RunRanks(**schedule, options);
    for (int rank = 0; rank < 4; ++rank) {
      ASSERT_TRUE(ranks[rank].ok()) << name << " rank " << rank << ": " << ranks[rank].status();
      EXPECT_LE(ranks[rank]->max_drift[0], (*schedule)->DriftBound(rank)) << name << " " << rank;
      EXPECT_GT(ranks[rank]->busy_seconds, 0);
      EXPECT_GT(ranks[rank]->peak_rss_bytes, 0);
    }
    for (double loss : ranks[3]->losses) EXPECT_TRUE(std::isfinite(loss) && loss > 0) << name;
  }
}

// A program that asks for an impossible action gets the rank driver's error, as a Status naming
// the rank, the action and the stage - the same check as the simulator's - not an exception. Every
// rank reports it: each checks the whole schedule's programs before its first action. Over the
// in-process fabric: over Gloo, the rank that fails first can close its end while its peer is
// still connecting, and the peer then reports the closed connection instead.
TEST(RankRuntimeTest, AnInvalidActionIsAnErrorNamingTheRankAndAction) {
  auto schedule = ParseCustomSchedule("rank 0: F0 B0\nrank 1: B0 F0\n");
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  testing::OrderedFabric fabric(testing::OrderedFabric::Streams::kOnePerChannel);
  const auto ranks = testing::RunRanksOverTransport(
      **schedule, Data(), Options(), [&](int rank) { return fabric.TransportOf(rank); },
      absl::Seconds(3));
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_FALSE(ranks[rank].ok()) << "rank " << rank;
    EXPECT_EQ(ranks[rank].status().code(), absl::StatusCode::kInvalidArgument) << rank;
    EXPECT_NE(ranks[rank].status().message().find(
                  "rank 1 action #0 'B0' (stage 1, micro-batch 0): backward before its forward"),
              std::string::npos)
        << "rank " << rank << ": " << ranks[rank].status();
  }
}

TEST(RankRuntimeTest, InterleavedChunksTravelBetweenRanks) {
  const ExecutorOptions options = Options();
  ScheduleParams params = Params(2, 4, 2);
  params.chunks = 2;
  auto schedule = MakeSchedule("interleaved_1f1b", params);
  ASSERT_TRUE(schedule.ok());
  const auto partition = *PartitionByLayers(*options.model, 4);
  auto local = RunPipeline(**schedule, CostModel(), partition, Data(), options);
  ASSERT_TRUE(local.ok());
  const auto ranks = RunRanks(**schedule, options);
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_TRUE(ranks[rank].ok()) << ranks[rank].status();
    for (int chunk = 0; chunk < 2; ++chunk) {
      const int stage = ranks[rank]->model_stages[chunk];
      const auto& weights = ranks[rank]->final_weights[chunk];
      for (size_t k = 0; k < weights.size(); ++k) {
        EXPECT_TRUE(torch::allclose(weights[k], local->final_weights[stage][k], 1e-5, 1e-6))
            << "stage " << stage << " tensor " << k;
      }
    }
  }
}

TEST(RankRuntimeTest, ARankThatExitsStopsTheOthersWithItsName) {
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 4, 4));
  FaultInjection fault;
  fault.kind = FaultInjection::Kind::kExit;
  fault.rank = 1;
  fault.after_actions = 3;
  const auto start = std::chrono::steady_clock::now();
  const auto ranks = RunRanks(**schedule, Options(), fault, absl::Seconds(10));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(ranks[1].ok());
  ASSERT_FALSE(ranks[0].ok());
  EXPECT_NE(ranks[0].status().message().find("rank 1"), std::string::npos) << ranks[0].status();
  EXPECT_LT(seconds, 11.0);
}

TEST(RankRuntimeTest, ARankThatHangsIsNamedAfterTheTimeout) {
  auto schedule = MakeSchedule("paci", Params(2, 4, 4));
  FaultInjection fault;
  fault.kind = FaultInjection::Kind::kHang;
  fault.rank = 1;
  fault.after_actions = 2;
  fault.hang_for = absl::Seconds(4);
  const auto ranks = RunRanks(**schedule, Options(), fault, absl::Seconds(1));
  ASSERT_FALSE(ranks[0].ok());
  EXPECT_EQ(ranks[0].status().code(), absl::StatusCode::kDeadlineExceeded) << ranks[0].status();
  EXPECT_NE(ranks[0].status().message().find("from rank 1"), std::string::npos)
      << ranks[0].status();
}

TEST(RankRuntimeTest, WorldSizeMustMatchTheStages) {
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 4, 1));
  CommunicatorOptions comm_options;
  comm_options.world_size = 1;
  comm_options.master_port = UnusedLoopbackPort();
  auto comm = Communicator::Connect(comm_options);
  ASSERT_TRUE(comm.ok()) << comm.status();
  const ExecutorOptions options = Options();
  auto result = RunRank(**schedule, *PartitionByLayers(*options.model, 2), Data(), options, **comm);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("WORLD_SIZE is 1 but the schedule has 2 stages"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
