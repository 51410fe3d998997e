#include "engine/platform/device.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

TEST(ParseDevice, ReadsCpuCudaAndCudaN) {
  EXPECT_EQ(*ParseDevice("cpu"), torch::Device(torch::kCPU));
  const torch::Device any_gpu = *ParseDevice("cuda");
  EXPECT_TRUE(any_gpu.is_cuda());
  EXPECT_FALSE(any_gpu.has_index());
  EXPECT_EQ(*ParseDevice("cuda:3"), torch::Device(torch::kCUDA, 3));
  EXPECT_EQ(DeviceName(*ParseDevice("cuda:3")), "cuda:3");
  EXPECT_EQ(DeviceName(*ParseDevice("cpu")), "cpu");
}

TEST(ParseDevice, RefusesOtherSpellingsNamingTheForms) {
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:0:1", "mps"}) {
    const absl::StatusOr<torch::Device> device = ParseDevice(bad);
    ASSERT_FALSE(device.ok()) << bad;
    EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(device.status().message().find("cpu, cuda"), std::string::npos)
        << device.status();
  }
}

TEST(ResolveDevice, CpuIsAlwaysAvailable) {
  EXPECT_EQ(*ResolveDeviceSpec("cpu", /*rank=*/3), torch::Device(torch::kCPU));
}

#ifndef PIPEBENCH_WITH_CUDA
// The CPU build: asking for a GPU is one clear error naming the GPU build, not a LibTorch throw
// deep inside the first forward.
TEST(ResolveDevice, CudaOnACpuBuildNamesTheGpuBuild) {
  for (const char* spec : {"cuda", "cuda:0"}) {
    const absl::StatusOr<torch::Device> device = ResolveDeviceSpec(spec);
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(device.status().message().find("ci/gpu/build.sh"), std::string::npos)
        << device.status();
  }
}
#else
TEST(ResolveDevice, CudaWithoutIndexIsTheRanksGpu) {
  const int visible = static_cast<int>(torch::cuda::device_count());
  ASSERT_GE(visible, 1);
  EXPECT_EQ(*ResolveDeviceSpec("cuda", /*rank=*/visible), torch::Device(torch::kCUDA, 0));
  EXPECT_FALSE(ResolveDeviceSpec(absl::StrCat("cuda:", visible)).ok());
}
#endif

TEST(MakeGenerator, CpuGeneratorsAreSeededAndIndependent) {
  at::Generator a = MakeGenerator(torch::kCPU, 7);
  at::Generator b = MakeGenerator(torch::kCPU, 7);
  const torch::Tensor first = at::normal(0.0, 1.0, {16}, a);
  EXPECT_TRUE(torch::equal(first, at::normal(0.0, 1.0, {16}, b)));
  EXPECT_FALSE(torch::equal(first, at::normal(0.0, 1.0, {16}, a)));
}

}  // namespace
}  // namespace pipebench
