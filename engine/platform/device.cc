#include "engine/platform/device.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <exception>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace pipebench {

absl::StatusOr<torch::Device> ParseDevice(absl::string_view spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda") return torch::Device(torch::kCUDA);
  int index = 0;
  if (absl::ConsumePrefix(&spec, "cuda:") && absl::SimpleAtoi(spec, &index) && index >= 0 &&
      index < 128) {
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "device must be cpu, cuda (each rank on GPU rank % visible GPUs) or cuda:N, got '", spec,
      "'"));
}

absl::StatusOr<torch::Device> ResolveDevice(const torch::Device& device, int rank) {
  if (device.is_cpu()) return device;
  if (!device.is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device ", device.str(), " is neither cpu nor cuda"));
  }
#ifndef PIPEBENCH_WITH_CUDA
  (void)rank;
  return absl::FailedPreconditionError(absl::StrCat(
      "device '", DeviceName(device),
      "': this build is against a CPU-only LibTorch (Debian's); build the GPU path with "
      "ci/gpu/build.sh (or Bazel's --config=nccl) against a CUDA LibTorch, or use cpu"));
#else
  const int visible = static_cast<int>(torch::cuda::device_count());
  if (visible < 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device '", DeviceName(device),
        "': no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)"));
  }
  if (!device.has_index()) {
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(rank % visible));
  }
  if (device.index() >= visible) {
    return absl::FailedPreconditionError(absl::StrCat("device '", DeviceName(device), "': only ",
                                                      visible, " CUDA device(s) are visible"));
  }
  return device;
#endif
}

absl::StatusOr<torch::Device> ResolveDeviceSpec(absl::string_view spec, int rank) {
  absl::StatusOr<torch::Device> device = ParseDevice(spec);
  if (!device.ok()) return device.status();
  return ResolveDevice(*device, rank);
}

std::string DeviceName(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.has_index() ? absl::StrCat("cuda:", device.index()) : "cuda";
}

at::Generator MakeGenerator(const torch::Device& device, std::uint64_t seed) {
  if (device.is_cpu()) return at::make_generator<at::CPUGeneratorImpl>(seed);
  // The device's default generator is shared; a clone with its own seed is this caller's alone.
  at::Generator shared = at::globalContext().defaultGenerator(device);
  std::unique_lock<std::mutex> shared_lock(shared.mutex());
  at::Generator generator = shared.clone();
  shared_lock.unlock();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_current_seed(seed);
  return generator;
}

std::vector<torch::Tensor> TrainableOn(std::vector<torch::Tensor> weights,
                                       const torch::Device& device) {
  if (device.is_cpu()) return weights;
  for (torch::Tensor& w : weights) w = w.detach().to(device).set_requires_grad(true);
  return weights;
}

void Synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace pipebench
