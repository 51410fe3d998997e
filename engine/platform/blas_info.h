// Which BLAS library LibTorch's matrix products run on in this process.
//
// Debian's LibTorch links the generic libblas.so.3, which the alternatives system points at either
// the reference BLAS (about 40x slower for LibTorch on CPU) or OpenBLAS. Every timing this project
// reports is meaningless on the reference BLAS, so programs check it at start-up.
#ifndef PIPEBENCH_ENGINE_PLATFORM_BLAS_INFO_H_
#define PIPEBENCH_ENGINE_PLATFORM_BLAS_INFO_H_

#include <string>

#include "absl/status/status.h"

namespace pipebench {

enum class BlasKind { kOpenBlas, kReference, kOther, kNotLoaded };

struct BlasInfo {
  BlasKind kind = BlasKind::kNotLoaded;
  // Resolved path of the loaded BLAS library; empty when none is loaded.
  std::string path;
};

// Inspects the shared objects loaded in this process.
BlasInfo DetectBlas();

// "openblas", "reference", "other" or "not loaded".
std::string BlasKindName(BlasKind kind);

// OK on OpenBLAS (or another non-reference BLAS); FailedPrecondition naming the fix otherwise.
absl::Status CheckFastBlas(const BlasInfo& info);

// Prints a loud warning to stderr when CheckFastBlas fails. Returns the check's status.
absl::Status WarnIfSlowBlas();

// Limits both LibTorch's intra-op threads and OpenBLAS's own pool to `threads`. LibTorch's
// setting alone leaves OpenBLAS spinning one thread per core, so p processes on one machine
// oversubscribe it p-fold.
void SetComputeThreads(int threads);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_PLATFORM_BLAS_INFO_H_
