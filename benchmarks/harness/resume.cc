#include "benchmarks/harness/resume.h"

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

using nlohmann::json;

std::string ShortCommit(const json& manifest) {
  const std::string commit = manifest.value("git_commit", std::string("unknown"));
  const bool dirty = manifest.value("git_dirty", std::string("unknown")) == "true";
  return commit.substr(0, 12) + (dirty ? " (with uncommitted changes)" : "");
}

// Why `earlier` is not an interrupted run of `now`; empty when it is one.
std::string Difference(const json& earlier, const json& now) {
  if (earlier.value("complete", true)) return "it finished";
  if (earlier.value("config", json()) != now.value("config", json())) {
    return "its config differs";
  }
  if (earlier.value("results_depend_on", json()) != now.value("results_depend_on", json())) {
    return "it ran with other --slow_down factors";
  }
  const auto field = [](const json& j, const char* name) {
    return j.value(name, std::string("unknown"));
  };
  if (field(earlier, "git_commit") != field(now, "git_commit") ||
      field(earlier, "git_commit") == "unknown") {
    return "the code changed";
  }
  if (field(earlier, "git_dirty") != field(now, "git_dirty") ||
      field(earlier, "git_diff_sha256") != field(now, "git_diff_sha256")) {
    return "the uncommitted changes differ";
  }
  return "";
}

}  // namespace

ResumePlan PlanResume(const std::optional<json>& earlier, const json& now, ResumeMode mode,
                      int done, int total) {
  ResumePlan plan;
  if (done == 0) return plan;
  const std::string earlier_code = earlier ? ShortCommit(*earlier) : "an unknown commit";
  const std::string cells = absl::StrCat(done, " of ", total, " cells done at commit ", earlier_code);
  switch (mode) {
    case ResumeMode::kFresh:
      plan.message = absl::StrCat("starting fresh (--fresh): replacing the earlier run's ", cells);
      return plan;
    case ResumeMode::kResume:
      plan.resume = true;
      plan.message = absl::StrCat("resuming (--resume): ", cells, "; this is commit ",
                                  ShortCommit(now));
      return plan;
    case ResumeMode::kAuto:
      break;
  }
  const std::string difference =
      earlier ? Difference(*earlier, now) : std::string("it has no manifest");
  if (difference.empty()) {
    plan.resume = true;
    plan.message = absl::StrCat("resuming: ", cells);
  } else {
    plan.message = absl::StrCat("starting fresh: replacing the earlier run's ", cells, " (",
                                difference, "; --resume would continue it)");
  }
  return plan;
}

}  // namespace pipebench
