// The provenance written next to every report: what code, configuration and machine produced it.
#ifndef PIPEBENCH_BENCHMARKS_MANIFEST_H_
#define PIPEBENCH_BENCHMARKS_MANIFEST_H_

#include <string>

#include "nlohmann/json.hpp"

namespace pipebench {

// git commit and dirty flag of `workspace` (changes under reports/ do not count) with a hash of
// the uncommitted diff, host name, compiler, OS, CPU count and model, time (UTC), and `config`
// verbatim. Fields that cannot be read say "unknown" rather than failing the report.
nlohmann::json MakeManifest(const std::string& workspace, const nlohmann::json& config);

// Versions of the libraries this build links: LibTorch, Abseil, nlohmann-json, and the Debian
// package versions of the BLAS and plotting stack when dpkg can tell.
nlohmann::json LibraryVersions();

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_MANIFEST_H_
