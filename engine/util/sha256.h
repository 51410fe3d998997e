// SHA-256 of a byte string, as lowercase hex. Used to verify data files; no crypto library needed.
#ifndef PIPEBENCH_ENGINE_UTIL_SHA256_H_
#define PIPEBENCH_ENGINE_UTIL_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pipebench {

std::string Sha256Hex(absl::string_view data);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_SHA256_H_
