// Whether a run continues the records already in its output folder or starts fresh.
//
// A run is fresh by default. It resumes on its own only when the folder holds an interrupted run
// (its manifest says "complete": false) of the same config at the same code: the same commit and,
// in a tree with uncommitted changes, the same diff. --resume continues whatever is there (each
// record keeps the commit and host that produced it); --fresh always starts over.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_RESUME_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_RESUME_H_

#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace pipebench {

enum class ResumeMode {
  kAuto,    // resume an interrupted run of the same config and code, else start fresh
  kFresh,   // --fresh
  kResume,  // --resume
};

struct ResumePlan {
  bool resume = false;
  // One line for the user, first thing the run prints: "resuming: 61 of 104 cells done at commit
  // 343eb34ab12c" or why the earlier records are replaced; empty when the folder held nothing.
  std::string message;
};

// `earlier` is the folder's manifest.json (nullopt if absent or unreadable), `now` this run's
// manifest (MakeManifest's fields: config, git_commit, git_dirty, git_diff_sha256, and
// "results_depend_on": the runner options that change results, such as --slow_down),
// `done`/`total` how many of this config's cells the folder already has finished records for.
ResumePlan PlanResume(const std::optional<nlohmann::json>& earlier, const nlohmann::json& now,
                      ResumeMode mode, int done, int total);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_RESUME_H_
