// The LibTorch API differences this project meets, in one place: it builds against Debian's
// LibTorch 1.13 (CPU) and against the CUDA LibTorch 2.x of the GPU machine (ci/gpu/build.sh).
#ifndef PIPEBENCH_ENGINE_PLATFORM_TORCH_COMPAT_H_
#define PIPEBENCH_ENGINE_PLATFORM_TORCH_COMPAT_H_

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

namespace pipebench {

// What point-to-point send/recv is called on. In 1.13 ProcessGroupGloo and ProcessGroupNCCL are
// ProcessGroups; from 2.0 they are c10d::Backends (a ProcessGroup dispatches to them by device).
#if TORCH_VERSION_MAJOR >= 2
using PointToPointGroup = c10d::Backend;
#else
using PointToPointGroup = c10d::ProcessGroup;
#endif

// The variables that make ProcessGroupNCCL's waits honour the timeout (a dead peer becomes an
// error, not a hang): 1.13 reads the first, 2.x the second and warns on the first.
inline constexpr const char* kNcclBlockingWaitVariables[] = {"NCCL_BLOCKING_WAIT",
                                                              "TORCH_NCCL_BLOCKING_WAIT"};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_PLATFORM_TORCH_COMPAT_H_
