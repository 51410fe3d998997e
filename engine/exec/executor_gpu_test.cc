// The executor with stages on a GPU, against the same run on the CPU. Needs a CUDA build and a
// GPU (ci/gpu/build.sh builds it and ci/gpu/run_on_gpu.sh runs it); in Bazel it is tagged manual
// and CI only compiles it. Without a GPU every test fails naming why: it is not a skip.
#include <cmath>
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
      // By norm, not element by element: Adam turns a gradient that is rounding noise on both
      // devices into a full step of either sign, so a few elements may differ by 2 * lr.
      const torch::Tensor& expected = cpu.final_weights[s][k];
      const double difference = (w.cpu() - expected).norm().item<double>();
      EXPECT_LT(difference, 1e-3 * expected.norm().item<double>() + 1e-6)
          << "stage " << s << " tensor " << k;
    }
  }
}

// Dropout masks come from the GPU's generator, seeded by (seed, micro-batch, unit) alone: two
// schedules that run the same micro-batches see the same masks, so GPipe and 1F1B-flush train
// the same losses, and a rerun repeats them exactly.
TEST(ExecutorGpuTest, GpuDropoutMasksDependOnTheMicroBatchAloneAndRepeat) {
  GptConfig model = testing::TinyModel();
  model.dropout = 0.2;
  ExecutorOptions options = testing::TinyTrainingOptions(model);
  options.device = Gpu();
  ASSERT_TRUE(options.device.is_cuda());
  const ExecutorResult flush = MustRun("1f1b_flush", Params(2, 4, 3), options);
  const ExecutorResult again = MustRun("1f1b_flush", Params(2, 4, 3), options);
  const ExecutorResult gpipe = MustRun("gpipe", Params(2, 4, 3), options);
  model.dropout = 0;
  ExecutorOptions without = testing::TinyTrainingOptions(model);
  without.device = options.device;
  const ExecutorResult no_dropout = MustRun("1f1b_flush", Params(2, 4, 3), without);
  ASSERT_EQ(flush.microbatches.size(), 12u);
  ASSERT_EQ(gpipe.microbatches.size(), 12u);
  ASSERT_EQ(again.microbatches.size(), 12u);
  for (size_t mb = 0; mb < flush.microbatches.size(); ++mb) {
    EXPECT_EQ(again.microbatches[mb].loss, flush.microbatches[mb].loss) << "micro-batch " << mb;
    EXPECT_NEAR(gpipe.microbatches[mb].loss, flush.microbatches[mb].loss, 1e-4)
        << "micro-batch " << mb;
  }
  // The masks do drop: the first micro-batch (same weights) sees another loss without them.
  EXPECT_GT(std::abs(no_dropout.microbatches[0].loss - flush.microbatches[0].loss), 1e-4);
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

// The costs are the GPU's: a stage of a 512-wide GPT runs its forward and backward far faster
// there than on the host's cores (an H200 against 16 cores: tens of times), so costs timed on
// the CPU by mistake would fail this by a wide margin.
TEST(ExecutorGpuTest, StageCostsAreMeasuredOnTheGpu) {
  GptConfig config = testing::TinyModel();
  config.embed = 512;
  config.heads = 8;
  config.context = 128;
  const GptModel model(config);
  auto partition = PartitionByLayers(model, 2);
  ASSERT_TRUE(partition.ok());
  const MeasurementOptions on_cpu{.micro_batch_size = 8, .warmup = 1, .repeats = 3};
  MeasurementOptions on_gpu = on_cpu;
  on_gpu.device = Gpu();
  const absl::StatusOr<CostModel> cpu = MeasureStageCosts(model, *partition, on_cpu);
  const absl::StatusOr<CostModel> gpu = MeasureStageCosts(model, *partition, on_gpu);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  for (size_t s = 0; s < gpu->stages.size(); ++s) {
    const StageCost& g = gpu->stages[s];
    const StageCost& c = cpu->stages[s];
    EXPECT_GT(g.forward, 0);
    EXPECT_LT(g.forward + g.backward(), (c.forward + c.backward()) / 3) << "stage " << s;
  }
}

}  // namespace
}  // namespace pipebench
