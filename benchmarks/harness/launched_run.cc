#include "benchmarks/harness/launched_run.h"

#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/dist/free_port.h"
#include "engine/util/subprocess.h"
#include "engine/util/workspace.h"
#include "nlohmann/json.hpp"

namespace pipebench {

absl::StatusOr<RunSummary> RunLaunched(const std::string& train_binary, int nproc,
                                       const TrainConfig& config) {
  std::vector<std::string> argv = {RunfilePath("engine/cli/launch"),
                                   absl::StrCat("--nproc=", nproc),
                                   absl::StrCat("--master_port=", UnusedLoopbackPort()),
                                   "--train=" + train_binary, "--"};
  for (std::string& arg : TrainArgs(config)) argv.push_back(std::move(arg));
  // In the caller's process group with its ranks: when the harness kills a cell's group (a
  // timeout), the launcher and every rank go with it.
  absl::StatusOr<CompletedProcess> run = RunToCompletion(argv, {.own_process_group = false});
  if (!run.ok()) return run.status();
  if (!run->ok()) {
    constexpr std::size_t kTail = 4000;
    const std::string& errors = run->stderr_text;
    return absl::InternalError(absl::StrCat(
        "the distributed run failed: ",
        errors.size() > kTail ? "..." + errors.substr(errors.size() - kTail) : errors));
  }
  std::istringstream lines(run->stdout_text);
  std::string line;
  while (std::getline(lines, line)) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_object() && parsed.contains("summary")) {
      return RunSummaryFromJson(parsed["summary"]);
    }
  }
  return absl::InternalError("the distributed run printed no summary");
}

}  // namespace pipebench
