// The executor with stages on a GPU, against the same run on the CPU. Needs a CUDA build and a
// GPU (ci/gpu/build.sh builds it and ci/gpu/run_on_gpu.sh runs it); in Bazel it is tagged manual
// and CI only compiles it. Without a GPU every test fails naming why: it is not a skip.
#include <string>

#include "engine/exec/cost_measurement.h"
#include "engine/exec/executor.h"
#include "engine/model/partition.h"
#include "engine/platform/device.h"
#include "engine/schedule/registry.h"
#include "engine/testing/schedule_fixtures.h"
#include "engine/testing/training_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::Params;

torch::Device Gpu() {
  const absl::StatusOr<torch::Device> gpu = ResolveDeviceSpec("cuda");
  EXPECT_TRUE(gpu.ok()) << gpu.status();
  return gpu.ok() ? *gpu : torch::Device(torch::kCPU);
}

ExecutorResult MustRun(const std::string& name, const ScheduleParams& params,
                       const ExecutorOptions& options) {
  auto schedule = MakeSchedule(name, params);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  auto partition = PartitionByLayers(*options.model, params.model_stages());
  EXPECT_TRUE(partition.ok()) << partition.status();
  auto result = RunPipeline(**schedule, CostModel(), *partition, testing::SyntheticData(), options);
  EXPECT_TRUE(result.ok()) << name << ": " << result.status();
  return result.ok() ? *std::move(result) : ExecutorResult();
}

// Same weights to start (drawn on the CPU), same micro-batches, same schedule: only the
// processor doing fp32 arithmetic differs, so losses and weights agree to fp32 rounding.
TEST(ExecutorGpuTest, FlushOnTheGpuEqualsTheCpuRunWithinFp32) {
  const torch::Device gpu = Gpu();
  ASSERT_TRUE(gpu.is_cuda());
  ExecutorOptions options = testing::TinyTrainingOptions();
  const ExecutorResult cpu = MustRun("1f1b_flush", Params(2, 4, 5), options);
  options.device = gpu;
  const ExecutorResult on_gpu = MustRun("1f1b_flush", Params(2, 4, 5), options);
  ASSERT_EQ(on_gpu.batches.size(), cpu.batches.size());
  for (size_t b = 0; b < cpu.batches.size(); ++b) {
    EXPECT_NEAR(on_gpu.batches[b].train_loss, cpu.batches[b].train_loss, 1e-4) << "batch " << b;
  }
  EXPECT_NEAR(on_gpu.final_validation_loss, cpu.final_validation_loss, 1e-4);
  ASSERT_EQ(on_gpu.final_weights.size(), cpu.final_weights.size());
  for (size_t s = 0; s < cpu.final_weights.size(); ++s) {
    for (size_t k = 0; k < cpu.final_weights[s].size(); ++k) {
      const torch::Tensor& w = on_gpu.final_weights[s][k];
      EXPECT_TRUE(w.is_cuda()) << "stage " << s << " tensor " << k << " is on " << w.device();
      EXPECT_TRUE(torch::allclose(w.cpu(), cpu.final_weights[s][k], /*rtol=*/1e-4, /*atol=*/1e-5))
          << "stage " << s << " tensor " << k << " max diff "
          << (w.cpu() - cpu.final_weights[s][k]).abs().max().item<float>();
    }
  }
}

// PACI on the GPU keeps its promise (no micro-batch crosses more updates than the bound) and
// trains as the CPU run does: the update order is the schedule's, not the device's.
TEST(ExecutorGpuTest, PaciOnTheGpuStaysWithinItsDriftBoundAndFollowsTheCpuRun) {
  ScheduleParams params = Params(4, 8, 6);
  params.accumulation = 2;
  auto schedule = MakeSchedule("paci", params);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  ExecutorOptions options = testing::TinyTrainingOptions();
  const ExecutorResult cpu = MustRun("paci", params, options);
  options.device = Gpu();
  ASSERT_TRUE(options.device.is_cuda());
  const ExecutorResult on_gpu = MustRun("paci", params, options);
  ASSERT_EQ(on_gpu.max_drift.size(), 4u);
  for (int stage = 0; stage < 4; ++stage) {
    EXPECT_LE(on_gpu.max_drift[stage], (*schedule)->DriftBound(stage)) << "stage " << stage;
    EXPECT_EQ(on_gpu.max_drift[stage], cpu.max_drift[stage]) << "stage " << stage;
  }
  ASSERT_EQ(on_gpu.batches.size(), cpu.batches.size());
  for (size_t b = 0; b < cpu.batches.size(); ++b) {
    EXPECT_NEAR(on_gpu.batches[b].train_loss, cpu.batches[b].train_loss, 1e-4) << "batch " << b;
  }
}

TEST(ExecutorGpuTest, StageCostsAreMeasuredOnTheGpu) {
  const GptModel model(testing::TinyModel());
  auto partition = PartitionByLayers(model, 2);
  ASSERT_TRUE(partition.ok());
  const absl::StatusOr<CostModel> costs =
      MeasureStageCosts(model, *partition, {.micro_batch_size = 4, .device = Gpu()});
  ASSERT_TRUE(costs.ok()) << costs.status();
  for (const StageCost& stage : costs->stages) {
    EXPECT_GT(stage.forward, 0);
    EXPECT_GT(stage.backward(), 0);
  }
}

}  // namespace
}  // namespace pipebench
