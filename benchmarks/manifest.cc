#include "benchmarks/manifest.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <torch/version.h>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/util/subprocess.h"

namespace pipebench {
namespace {

// Runs a shell command (the git and dpkg queries pipe through other tools) and returns its
// trimmed standard output, or "unknown".
std::string CommandOutput(const std::string& command) {
  absl::StatusOr<CompletedProcess> run = RunToCompletion({"/bin/sh", "-c", command});
  if (!run.ok() || !run->ok()) return "unknown";
  return std::string(absl::StripAsciiWhitespace(run->stdout_text));
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
    }
  }
  return "unknown";
}

}  // namespace

nlohmann::json LibraryVersions() {
  auto package = [](const std::string& name) {
    return CommandOutput("dpkg-query -W -f='${Version}' " + name);
  };
  return {{"libtorch", TORCH_VERSION},
          {"libabsl-dev", package("libabsl-dev")},
          {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                                std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                                std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
          {"libopenblas0-pthread", package("libopenblas0-pthread")},
          {"python3-matplotlib", package("python3-matplotlib")}};
}

nlohmann::json MakeManifest(const std::string& workspace, const nlohmann::json& config) {
  const std::string git = "git -C '" + workspace + "' ";
  const std::string commit = CommandOutput(git + "rev-parse HEAD");
  // Reports are this program's own output; rewriting one must not mark the code dirty.
  const std::string status =
      CommandOutput(git + "status --porcelain --untracked-files=no -- . ':(exclude)reports'");
  const bool dirty = commit != "unknown" && !status.empty();
  // Tells two dirty trees at one commit apart, so that only a run of the same code resumes.
  const std::string diff_sha256 =
      dirty ? CommandOutput(git + "diff HEAD -- . ':(exclude)reports' | sha256sum | cut -c1-64")
            : "";
  utsname machine{};
  uname(&machine);
  return {{"git_commit", commit},
          {"git_dirty", commit == "unknown" ? "unknown" : (dirty ? "true" : "false")},
          {"git_diff_sha256", diff_sha256},
          {"host", machine.nodename},
          {"created_utc", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())},
          {"compiler", __VERSION__},
          {"os", std::string(machine.sysname) + " " + machine.release},
          {"machine", machine.machine},
          {"cpu_model", CpuModel()},
          {"cpu_count", sysconf(_SC_NPROCESSORS_ONLN)},
          {"config", config}};
}

}  // namespace pipebench
