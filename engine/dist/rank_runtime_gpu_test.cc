// The distributed runtime with stages on GPUs. Needs a CUDA build and a GPU (ci/gpu/build.sh
// builds it, ci/gpu/run_on_gpu.sh runs it); in Bazel it is tagged manual and CI only compiles it.
// Without a GPU every test fails naming why; the NCCL tests skip, saying so, on fewer than two
// GPUs, since NCCL refuses two ranks of one communicator on one device.
#include <string>

#include <torch/cuda.h>

#include "engine/dist/communicator.h"
#include "engine/dist/rank_runtime.h"
#include "engine/exec/executor.h"
#include "engine/model/partition.h"
#include "engine/platform/device.h"
#include "engine/schedule/registry.h"
#include "engine/testing/rank_fixtures.h"
#include "engine/testing/schedule_fixtures.h"
#include "engine/testing/training_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::Params;

ExecutorOptions OnTheGpu() {
  ExecutorOptions options = testing::TinyTrainingOptions();
  const absl::StatusOr<torch::Device> gpu = ResolveDeviceSpec("cuda");
  EXPECT_TRUE(gpu.ok()) << gpu.status();
  // Unindexed: each rank takes GPU rank % visible, as `train --device=cuda` does.
  options.device = torch::Device(torch::kCUDA);
  return options;
}

// The ranks' final weights and last-stage losses against the single-process executor's, both on
// the GPU.
void ExpectRanksMatchExecutor(const std::string& name, const ScheduleParams& params,
                              Transport transport) {
  SCOPED_TRACE(name);
  const ExecutorOptions options = OnTheGpu();
  auto schedule = MakeSchedule(name, params);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  const auto partition = *PartitionByLayers(*options.model, params.stages);
  auto local =
      RunPipeline(**schedule, CostModel(), partition, testing::SyntheticData(), options);
  ASSERT_TRUE(local.ok()) << local.status();
  const auto ranks = testing::RunRanksInThreads(**schedule, testing::SyntheticData(), options, {},
                                                absl::Seconds(60), transport);
  for (int rank = 0; rank < params.stages; ++rank) {
    ASSERT_TRUE(ranks[rank].ok()) << "rank " << rank << ": " << ranks[rank].status();
    const auto& weights = ranks[rank]->final_weights[0];
    for (size_t k = 0; k < weights.size(); ++k) {
      EXPECT_TRUE(weights[k].is_cuda()) << "rank " << rank << " tensor " << k;
      // By norm (as executor_gpu_test): Adam may turn rounding noise into a step of either sign.
      const torch::Tensor expected = local->final_weights[rank][k].cpu();
      EXPECT_LT((weights[k].cpu() - expected).norm().item<double>(),
                1e-3 * expected.norm().item<double>() + 1e-6)
          << "rank " << rank << " tensor " << k;
    }
  }
  const std::vector<double>& losses = ranks[params.stages - 1]->losses;
  for (size_t mb = 0; mb < losses.size(); ++mb) {
    EXPECT_NEAR(losses[mb], local->microbatches[mb].loss, 1e-4) << "micro-batch " << mb;
  }
}

// Two ranks sharing one GPU over Gloo (tensors staged through the host): what one GPU can run.
TEST(RankRuntimeGpuTest, TwoRanksOverGlooMatchTheGpuExecutor) {
  ExpectRanksMatchExecutor("1f1b_flush", Params(2, 8, 3), Transport::kGloo);
}

bool TwoGpus() { return torch::cuda::device_count() >= 2; }

// NCCL, each rank on its own GPU: the receiver threads post up to eight receives ahead on each
// channel; with one communicator per channel no send queues behind them.
TEST(RankRuntimeGpuTest, NcclWithReceivesPostedAheadMatchesTheGpuExecutor) {
  if (!TwoGpus()) GTEST_SKIP() << "NCCL needs a GPU per rank; " << torch::cuda::device_count()
                               << " visible";
  ExpectRanksMatchExecutor("1f1b_flush", Params(2, 8, 3), Transport::kNccl);
}

TEST(RankRuntimeGpuTest, PaciOverNcclStaysWithinItsDriftBound) {
  if (!TwoGpus()) GTEST_SKIP() << "NCCL needs a GPU per rank; " << torch::cuda::device_count()
                               << " visible";
  ScheduleParams params = Params(2, 8, 4);
  params.accumulation = 2;
  auto schedule = MakeSchedule("paci", params);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  const auto ranks = testing::RunRanksInThreads(**schedule, testing::SyntheticData(), OnTheGpu(),
                                                {}, absl::Seconds(60), Transport::kNccl);
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_TRUE(ranks[rank].ok()) << "rank " << rank << ": " << ranks[rank].status();
    EXPECT_LE(ranks[rank]->max_drift[0], (*schedule)->DriftBound(rank)) << "rank " << rank;
  }
}

}  // namespace
}  // namespace pipebench
