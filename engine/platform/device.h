// The device a stage computes on: "cpu" (the default, and the only one Debian's LibTorch has) or a
// CUDA GPU in a build against a CUDA LibTorch (ci/gpu/build.sh, or Bazel's --config=nccl).
//
// Weights are drawn on the CPU from the same seeded generators on every device and then moved, so a
// GPU run starts from the very weights a CPU run does; what differs is the arithmetic (fp32 kernels
// on another processor) and dropout masks, which are drawn where the activations live.
#ifndef PIPEBENCH_ENGINE_PLATFORM_DEVICE_H_
#define PIPEBENCH_ENGINE_PLATFORM_DEVICE_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pipebench {

// "cpu", "cuda" (the rank's GPU: rank % visible devices) or "cuda:N"; anything else is
// InvalidArgument naming the accepted forms.
absl::StatusOr<torch::Device> ParseDevice(absl::string_view spec);

// `device` made concrete for `rank`: a CUDA device without an index becomes rank % the visible
// devices. FailedPrecondition, naming the fix, when this build has no CUDA or no device (or not
// device N) is visible.
absl::StatusOr<torch::Device> ResolveDevice(const torch::Device& device, int rank = 0);

// ParseDevice then ResolveDevice.
absl::StatusOr<torch::Device> ResolveDeviceSpec(absl::string_view spec, int rank = 0);

// "cpu" or "cuda:N" (what ParseDevice reads back).
std::string DeviceName(const torch::Device& device);

// A fresh generator on `device` seeded with `seed`: for tensors drawn where they are used
// (dropout masks on the activations' device). On the CPU, the generator the CPU code has always
// used, so CPU runs draw what they drew before.
at::Generator MakeGenerator(const torch::Device& device, std::uint64_t seed);

// Weights drawn on the CPU, as trainable leaves on `device`: moved once (the CPU ones returned as
// they are), so every device starts from the very weights a CPU run does.
std::vector<torch::Tensor> TrainableOn(std::vector<torch::Tensor> weights,
                                       const torch::Device& device);

// Waits until `device` has finished the work queued on it (a no-op on the CPU), so a clock read
// after it times the work, not its launch.
void Synchronize(const torch::Device& device);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_PLATFORM_DEVICE_H_
