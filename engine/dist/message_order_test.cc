// NCCL matches point-to-point messages by the order they were posted in and runs a rank's
// operations toward one peer in that order, so a receive posted ahead holds up every later send to
// the same peer on the same communicator. These tests run the distributed runtime over an
// in-process fabric with that rule (engine/testing/ordered_fabric.h): with one stream per peer the
// runtime's posted-ahead receives deadlock; with one per channel - the transport the NCCL build
// uses - every schedule runs and trains what the single-process executor trains.
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include "engine/dist/communicator.h"
#include "engine/exec/executor.h"
#include "engine/model/partition.h"
#include "engine/schedule/registry.h"
#include "engine/testing/ordered_fabric.h"
#include "engine/testing/rank_fixtures.h"
#include "engine/testing/schedule_fixtures.h"
#include "engine/testing/training_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;
using testing::OrderedFabric;
using testing::Params;

std::vector<absl::StatusOr<RankResult>> RunOverFabric(const Schedule& schedule,
                                                      OrderedFabric& fabric,
                                                      absl::Duration timeout) {
  return testing::RunRanksOverTransport(
      schedule, testing::SyntheticData(), testing::TinyTrainingOptions(),
      [&](int rank) { return fabric.TransportOf(rank); }, timeout);
}

TEST(OrderedFabricTest, MatchesByOrderNotByTag) {
  OrderedFabric fabric(OrderedFabric::Streams::kOnePerPeer);
  auto zero = fabric.TransportOf(0);
  auto one = fabric.TransportOf(1);
  torch::Tensor a = torch::full({2}, 1.0), b = torch::full({2}, 2.0);
  torch::Tensor first = torch::zeros({2}), second = torch::zeros({2});
  auto r1 = one->Recv(first, 0, /*channel=*/0, /*tag=*/9);
  auto r2 = one->Recv(second, 0, 0, 3);
  auto s1 = zero->Send(a, 1, 0, 3);
  auto s2 = zero->Send(b, 1, 0, 9);
  for (auto* pending : {&r1, &r2, &s1, &s2}) {
    ASSERT_TRUE(pending->ok());
    EXPECT_TRUE((**pending)->Wait(absl::Seconds(5)).ok());
  }
  EXPECT_TRUE(torch::equal(first, a)) << "the first receive takes the first send, whatever tags";
  EXPECT_TRUE(torch::equal(second, b));
}

TEST(OrderedFabricTest, TwoReceivesFacingEachOtherWaitUntilAborted) {
  OrderedFabric fabric(OrderedFabric::Streams::kOnePerPeer);
  auto zero = fabric.TransportOf(0);
  auto one = fabric.TransportOf(1);
  auto r0 = zero->Recv(torch::zeros({1}), 1, 0, 0);
  auto r1 = one->Recv(torch::zeros({1}), 0, 0, 0);
  auto s0 = zero->Send(torch::ones({1}), 1, 0, 1);  // queued behind rank 0's receive
  EXPECT_EQ((*s0)->Wait(absl::Milliseconds(50)).code(), absl::StatusCode::kDeadlineExceeded);
  (*r0)->Abort();  // rank 0's send reaches the head and meets rank 1's receive
  EXPECT_TRUE((*s0)->Wait(absl::Seconds(5)).ok());
  EXPECT_TRUE((*r1)->Wait(absl::Seconds(5)).ok());
  EXPECT_EQ((*r0)->Wait(absl::Seconds(5)).code(), absl::StatusCode::kCancelled);
}

// The hazard: rank 0 posts its gradient receives ahead, its next activation send queues behind
// them on the one stream to rank 1, and rank 1 waits for that activation before it sends a
// gradient.
TEST(MessageOrderTest, ReceivesPostedAheadDeadlockAStreamSharedByBothDirections) {
  OrderedFabric fabric(OrderedFabric::Streams::kOnePerPeer);
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 4, 2));
  ASSERT_TRUE(schedule.ok());
  const auto ranks = RunOverFabric(**schedule, fabric, absl::Seconds(2));
  bool deadline = false;
  for (const auto& rank : ranks) {
    EXPECT_FALSE(rank.ok());
    deadline |= rank.status().code() == absl::StatusCode::kDeadlineExceeded;
  }
  EXPECT_TRUE(deadline) << ranks[0].status() << " / " << ranks[1].status();
}

TEST(MessageOrderTest, AStreamPerChannelRunsEveryScheduleAsTheExecutorDoes) {
  const ExecutorOptions options = testing::TinyTrainingOptions();
  // A build that linked no schedules would pass this vacuously.
  ASSERT_GE(RegisteredSchedules().size(), 10u);
  for (const std::string& name : RegisteredSchedules()) {
    SCOPED_TRACE(name);
    // Each schedule in its chunked form where it has one (V-shaped ones hold stages 0 and 3 on
    // rank 0).
    auto schedule = MakeSchedule(name, testing::Accepted(name, Params(2, 4, 2)));
    ASSERT_TRUE(schedule.ok()) << schedule.status();
    OrderedFabric fabric(OrderedFabric::Streams::kOnePerChannel);
    const auto ranks = RunOverFabric(**schedule, fabric, absl::Seconds(30));
    for (int rank = 0; rank < 2; ++rank) {
      ASSERT_TRUE(ranks[rank].ok()) << "rank " << rank << ": " << ranks[rank].status();
    }
    if (!(*schedule)->synchronous()) continue;  // timing may reorder an asynchronous rank
    auto partition = PartitionByLayers(*options.model, (*schedule)->params().model_stages());
    auto local = RunPipeline(**schedule, CostModel(), *partition, testing::SyntheticData(),
                             options);
    ASSERT_TRUE(local.ok()) << local.status();
    for (int rank = 0; rank < 2; ++rank) {
      for (size_t chunk = 0; chunk < ranks[rank]->final_weights.size(); ++chunk) {
        const int stage = ranks[rank]->model_stages[chunk];
        const auto& weights = ranks[rank]->final_weights[chunk];
        for (size_t k = 0; k < weights.size(); ++k) {
          EXPECT_TRUE(torch::allclose(weights[k], local->final_weights[stage][k], 1e-5, 1e-6))
              << "stage " << stage << " tensor " << k;
        }
      }
    }
  }
}

TEST(MessageOrderTest, AMessageOutOfSequenceOnAnOrderedChannelIsRefused) {
  OrderedFabric fabric(OrderedFabric::Streams::kOnePerChannel);
  std::unique_ptr<Communicator> comm =
      Communicator::Over({.rank = 0, .world_size = 2, .timeout = absl::Seconds(1)},
                         fabric.TransportOf(0), c10::make_intrusive<c10d::HashStore>());
  const torch::Tensor t = torch::ones({1});
  EXPECT_TRUE(comm->StartSend(t, 1, /*tag=*/5, /*channel=*/3).ok());
  EXPECT_TRUE(comm->StartSend(t, 1, 6, 3).ok());
  EXPECT_TRUE(comm->StartSend(t, 1, 40, 4).ok()) << "another channel has its own sequence";
  const absl::Status skipped = comm->StartSend(t, 1, 8, 3).status();
  EXPECT_EQ(skipped.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(skipped.message()), HasSubstr("channel 3 has tag 8 after 6"));
  torch::Tensor buffer = torch::zeros({1});
  EXPECT_TRUE(comm->StartRecv(buffer, 1, 2, 3).ok()) << "receives have their own sequence";
  EXPECT_EQ(comm->StartRecv(buffer, 1, 2, 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pipebench
