#include "benchmarks/harness/launched_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/dist/free_port.h"
#include "engine/util/workspace.h"

namespace pipebench {
namespace {

// `text` as one word for /bin/sh, whatever it holds.
std::string ShellQuoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

absl::StatusOr<nlohmann::json> RunLaunched(const std::string& train_binary, int nproc,
                                           const std::vector<std::string>& train_flags) {
  const std::string launch = RunfilePath("engine/cli/launch");
  char log[] = "/tmp/pipebench_launch_XXXXXX";
  const int log_fd = mkstemp(log);
  if (log_fd < 0) return absl::InternalError("cannot create a log file in /tmp");
  close(log_fd);
  std::string command =
      absl::StrCat(ShellQuoted(launch), " --nproc=", nproc, " --master_port=",
                   UnusedLoopbackPort(), " ", ShellQuoted("--train=" + train_binary), " --");
  for (const std::string& flag : train_flags) absl::StrAppend(&command, " ", ShellQuoted(flag));
  absl::StrAppend(&command, " 2>", log);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::remove(log);
    return absl::InternalError("cannot start " + launch);
  }
  std::string output;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  std::stringstream errors;
  errors << std::ifstream(log).rdbuf();
  std::remove(log);
  if (status != 0) {
    return absl::InternalError(absl::StrCat("the distributed run failed: ", errors.str()));
  }
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_object() && parsed.contains("summary")) return parsed["summary"];
  }
  return absl::InternalError("the distributed run printed no summary");
}

}  // namespace pipebench
