#include "engine/dist/communicator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "engine/dist/free_port.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

CommunicatorOptions Options(int rank, int world_size, int port) {
  CommunicatorOptions options;
  options.rank = rank;
  options.world_size = world_size;
  options.master_port = port;
  options.timeout = absl::Seconds(20);
  return options;
}

TEST(CommunicatorTest, TwoRanksExchangeTensorsOverGloo) {
  const int port = UnusedLoopbackPort();
  torch::Tensor received = torch::zeros({3, 4});
  torch::Tensor echoed = torch::zeros({3, 4});
  absl::Status rank1_status;
  std::thread rank1([&] {
    auto comm = Communicator::Connect(Options(1, 2, port));
    if (!comm.ok()) {
      rank1_status = comm.status();
      return;
    }
    rank1_status = (*comm)->Recv(received, /*src=*/0, /*tag=*/7);
    if (rank1_status.ok()) rank1_status = (*comm)->Send(received * 2, /*dst=*/0, /*tag=*/8);
  });
  auto comm = Communicator::Connect(Options(0, 2, port));
  ASSERT_TRUE(comm.ok()) << comm.status();
  const torch::Tensor sent = torch::arange(12, torch::kFloat32).reshape({3, 4});
  EXPECT_TRUE((*comm)->Send(sent, /*dst=*/1, /*tag=*/7).ok());
  EXPECT_TRUE((*comm)->Recv(echoed, /*src=*/1, /*tag=*/8).ok());
  rank1.join();
  ASSERT_TRUE(rank1_status.ok()) << rank1_status;
  EXPECT_TRUE(torch::equal(received, sent));
  EXPECT_TRUE(torch::equal(echoed, sent * 2));
}

TEST(CommunicatorTest, MissingPeerIsADeadlineErrorNotAHang) {
  CommunicatorOptions options = Options(0, 2, UnusedLoopbackPort());
  options.rendezvous_timeout = absl::Seconds(1);
  auto comm = Communicator::Connect(options);
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kDeadlineExceeded) << comm.status();
  EXPECT_NE(comm.status().message().find("rank 0 of 2"), absl::string_view::npos);
}

TEST(CommunicatorTest, PortInUseIsAClearError) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  auto comm = Communicator::Connect(Options(0, 2, ntohs(address.sin_port)));
  close(fd);
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kFailedPrecondition) << comm.status();
  EXPECT_NE(comm.status().message().find("in use"), absl::string_view::npos) << comm.status();
}

TEST(CommunicatorTest, ARankOfAnotherJobOnTheSamePortIsRefusedNamingBothRuns) {
  const int port = UnusedLoopbackPort();
  CommunicatorOptions intruder = Options(1, 2, port);
  intruder.run_id = "job-b";
  intruder.rendezvous_timeout = absl::Seconds(10);
  absl::Status intruder_status;
  std::thread other_job([&] { intruder_status = Communicator::Connect(intruder).status(); });
  CommunicatorOptions host = Options(0, 2, port);
  host.run_id = "job-a";
  host.rendezvous_timeout = absl::Seconds(3);
  // Job A's rank 0 waits for its own rank 1, which never comes: a deadline, not a mixed job.
  const absl::Status host_status = Communicator::Connect(host).status();
  other_job.join();
  EXPECT_EQ(intruder_status.code(), absl::StatusCode::kFailedPrecondition) << intruder_status;
  EXPECT_NE(intruder_status.message().find("run 'job-b', reached the rendezvous of another job, "
                                           "run 'job-a'"),
            absl::string_view::npos)
      << intruder_status;
  EXPECT_FALSE(host_status.ok());
}

TEST(CommunicatorTest, RanksOfOneRunJoin) {
  const int port = UnusedLoopbackPort();
  absl::Status rank1_status;
  std::thread rank1([&] {
    CommunicatorOptions options = Options(1, 2, port);
    options.run_id = "job-a";
    auto comm = Communicator::Connect(options);
    rank1_status = comm.status();
    if (comm.ok()) rank1_status = (*comm)->Send(torch::ones({2}), /*dst=*/0, /*tag=*/1);
  });
  CommunicatorOptions options = Options(0, 2, port);
  options.run_id = "job-a";
  auto comm = Communicator::Connect(options);
  ASSERT_TRUE(comm.ok()) << comm.status();
  torch::Tensor received = torch::zeros({2});
  EXPECT_TRUE((*comm)->Recv(received, /*src=*/1, /*tag=*/1).ok());
  rank1.join();
  EXPECT_TRUE(rank1_status.ok()) << rank1_status;
  EXPECT_TRUE(torch::equal(received, torch::ones({2})));
}

TEST(CommunicatorTest, AnUnresolvableMasterAddressFailsAtOnce) {
  CommunicatorOptions options = Options(1, 2, UnusedLoopbackPort());
  options.master_addr = "no-such-host.invalid";
  const absl::Time start = absl::Now();
  const absl::Status status = Communicator::Connect(options).status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no-such-host.invalid"), absl::string_view::npos) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(CommunicatorTest, RejectsImpossibleRanks) {
  EXPECT_EQ(Communicator::Connect(Options(2, 2, 29500)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Communicator::Connect(Options(0, 0, 29500)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

#ifndef PIPEBENCH_WITH_CUDA
// The default CPU build has no NCCL: asking for it names the build switch instead of failing
// somewhere inside c10d.
TEST(CommunicatorTest, NcclWithoutTheNcclBuildSaysHowToGetIt) {
  CommunicatorOptions options = Options(0, 1, UnusedLoopbackPort());
  options.transport = Transport::kNccl;
  const absl::Status status = Communicator::Connect(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(status.message()).find("--config=nccl"), std::string::npos) << status;
}
#endif

TEST(CommunicatorTest, ParsesTransports) {
  EXPECT_EQ(*ParseTransport("gloo"), Transport::kGloo);
  EXPECT_EQ(*ParseTransport("nccl"), Transport::kNccl);
  EXPECT_FALSE(ParseTransport("mpi").ok());
}

}  // namespace
}  // namespace pipebench
