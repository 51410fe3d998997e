#include "engine/platform/blas_info.h"

#include <link.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

// Defined by OpenBLAS when it is the loaded BLAS; null otherwise.
extern "C" void openblas_set_num_threads(int threads) __attribute__((weak));

namespace pipebench {
namespace {

BlasKind Classify(const std::string& resolved_path) {
  if (absl::StrContains(resolved_path, "openblas")) return BlasKind::kOpenBlas;
  // Debian installs the reference implementation as .../blas/libblas.so.3.
  if (absl::StrContains(resolved_path, "/blas/libblas")) return BlasKind::kReference;
  return BlasKind::kOther;
}

int VisitLoadedObject(struct dl_phdr_info* object, size_t, void* data) {
  auto* info = static_cast<BlasInfo*>(data);
  if (object->dlpi_name == nullptr) return 0;
  const std::string name = object->dlpi_name;
  const size_t slash = name.rfind('/');
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  if (!absl::StartsWith(base, "libblas.so") && !absl::StartsWith(base, "libopenblas")) return 0;
  char* resolved = realpath(name.c_str(), nullptr);
  const std::string path = resolved != nullptr ? resolved : name;
  free(resolved);
  const BlasKind kind = Classify(path);
  // libblas.so.3 may resolve to OpenBLAS's copy; report the first decisive library.
  if (info->kind == BlasKind::kNotLoaded || info->kind == BlasKind::kOther) {
    info->kind = kind;
    info->path = path;
  }
  return 0;
}

}  // namespace

BlasInfo DetectBlas() {
  BlasInfo info;
  dl_iterate_phdr(VisitLoadedObject, &info);
  return info;
}

std::string BlasKindName(BlasKind kind) {
  switch (kind) {
    case BlasKind::kOpenBlas:
      return "openblas";
    case BlasKind::kReference:
      return "reference";
    case BlasKind::kOther:
      return "other";
    case BlasKind::kNotLoaded:
      return "not loaded";
  }
  return "unknown";
}

absl::Status CheckFastBlas(const BlasInfo& info) {
  if (info.kind == BlasKind::kReference) {
    return absl::FailedPreconditionError(absl::StrCat(
        "LibTorch is using the reference BLAS (", info.path,
        "), about 40x slower than OpenBLAS; every timing will be wrong. Fix: "
        "apt-get install libopenblas0-pthread (or ./third_party/install_deps.sh)"));
  }
  return absl::OkStatus();
}

void SetComputeThreads(int threads) {
  torch::set_num_threads(threads);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
}

absl::Status WarnIfSlowBlas() {
  absl::Status status = CheckFastBlas(DetectBlas());
  if (!status.ok()) {
    std::fprintf(stderr, "\n*** WARNING: %s ***\n\n", std::string(status.message()).c_str());
  }
  return status;
}

}  // namespace pipebench
