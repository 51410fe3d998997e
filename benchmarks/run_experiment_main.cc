// Runs an experiment config's matrix and writes its report:
//
//   bazel run //:paper                   # configs/experiments/paper.json
//   bazel run //:run_experiment -- --config=configs/experiments/throughput.json
//
// into runs/<experiment>/ (git-ignored): manifest.json, results.jsonl (raw records), summary.csv,
// benchmark.json (Google Benchmark format), report.md and plots/. A run is fresh unless it
// continues an interrupted run of the same config and code (--resume and --fresh force either
// way). The report compares itself with the committed reference in reports/<experiment>/ when
// there is one (--compare_to names another). Exits 1 when a cell failed (the report lists it).
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "benchmarks/harness/experiment_config.h"
#include "benchmarks/harness/experiment_run.h"
#include "benchmarks/harness/matrix_runner.h"
#include "engine/util/folder_lock.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/subprocess.h"
#include "engine/util/workspace.h"

ABSL_FLAG(std::string, config, "", "Experiment config (configs/experiments/*.json).");
ABSL_FLAG(std::string, out_dir, "",
          "Output folder, relative to the repository (default: runs/<experiment>).");
ABSL_FLAG(std::string, data, "",
          "TinyShakespeare's input.txt, instead of the file the build fetched (checksum "
          "verified).");
ABSL_FLAG(int, jobs, 0, "Training and NAS cells run at once, one core each (0: every core).");
ABSL_FLAG(bool, fresh, false, "Start over even where an interrupted run could be continued.");
ABSL_FLAG(bool, resume, false,
          "Continue the records in the output folder even if they come from another config or "
          "commit (each record keeps its own commit).");
ABSL_FLAG(std::string, compare_to, "",
          "An earlier report folder to compare the headline ratios with (default: the committed "
          "reports/<experiment>/ when it exists; 'none' for no comparison).");
ABSL_FLAG(double, cell_timeout_seconds, 3600, "A cell running longer is killed and failed.");
ABSL_FLAG(std::string, slow_down, "",
          "Times the named schedules with costs multiplied by a factor, e.g. paci:2 (to see the "
          "CI gate fail).");
ABSL_FLAG(bool, report, true, "Write the summary, tables and plots after the matrix.");
ABSL_FLAG(std::string, run_cell, "", "Internal: run one isolated cell from this input file.");
ABSL_FLAG(std::string, cell_output, "", "Internal: where --run_cell writes its record.");

namespace pipebench {
namespace {

// The folder the report compares itself with, or "" for none.
std::string ReferenceFolder(const std::string& experiment, const std::string& out_dir) {
  const std::string flag = absl::GetFlag(FLAGS_compare_to);
  if (flag == "none") return "";
  if (!flag.empty()) return ResolvePath(flag);
  const std::string committed = RepositoryPath("reports/" + experiment);
  std::error_code error;
  if (!std::filesystem::exists(committed + "/results.jsonl") ||
      std::filesystem::equivalent(committed, out_dir, error)) {
    return "";
  }
  return committed;
}

absl::Status Run() {
  if (!absl::GetFlag(FLAGS_run_cell).empty()) {
    return RunIsolatedCell(absl::GetFlag(FLAGS_run_cell), absl::GetFlag(FLAGS_cell_output));
  }
  if (absl::GetFlag(FLAGS_config).empty()) {
    return absl::InvalidArgumentError("--config is required (see configs/experiments/)");
  }
  if (absl::GetFlag(FLAGS_fresh) && absl::GetFlag(FLAGS_resume)) {
    return absl::InvalidArgumentError("--fresh and --resume contradict each other");
  }
  PB_ASSIGN_OR_RETURN(ExperimentConfig config, LoadExperimentConfig(absl::GetFlag(FLAGS_config)));
  ExperimentRunOptions options;
  options.out_dir = absl::GetFlag(FLAGS_out_dir).empty()
                        ? RepositoryPath("runs/" + config.experiment)
                        : ResolveOutputPath(absl::GetFlag(FLAGS_out_dir));
  options.resume = absl::GetFlag(FLAGS_fresh)    ? ResumeMode::kFresh
                   : absl::GetFlag(FLAGS_resume) ? ResumeMode::kResume
                                                 : ResumeMode::kAuto;
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs < 0 || jobs > 4 * cores) {
    return absl::InvalidArgumentError(absl::StrCat("--jobs must be in [0, ", 4 * cores,
                                                   "] (0: one per core; ", cores,
                                                   " cores here), got ", jobs));
  }
  options.jobs = jobs > 0 ? jobs : cores;
  options.cell_timeout_seconds = absl::GetFlag(FLAGS_cell_timeout_seconds);
  if (!std::isfinite(options.cell_timeout_seconds) || options.cell_timeout_seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cell_timeout_seconds must be a finite number > 0, got ",
                     options.cell_timeout_seconds));
  }
  PB_ASSIGN_OR_RETURN(options.slow_down, ParseSlowDown(absl::GetFlag(FLAGS_slow_down)));
  options.data = absl::GetFlag(FLAGS_data);
  options.self = SelfExecutable();
  // benchmarks/runner.bzl builds `<runner>_train` beside each runner, with the same schedules.
  options.train_binary = options.self + "_train";
  const std::string reference = ReferenceFolder(config.experiment, options.out_dir);
  if (!reference.empty() && !std::filesystem::exists(reference + "/results.jsonl")) {
    return absl::NotFoundError(
        absl::StrCat("--compare_to: ", reference, " holds no report (no results.jsonl)"));
  }
  std::error_code error;
  if (!reference.empty() && std::filesystem::equivalent(reference, options.out_dir, error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--compare_to: ", reference, " is the output folder; a run replaces what is there"));
  }

  // One run a folder at a time, from the first record to the report.
  std::string stale_holder;
  PB_ASSIGN_OR_RETURN(FolderLock lock,
                      FolderLock::Acquire(options.out_dir, CurrentCommandLine(), &stale_holder));
  if (!stale_holder.empty()) {
    std::cerr << "taking over the lock of " << options.out_dir << " from a run that died: "
              << stale_holder << "\n";
  }
  PB_ASSIGN_OR_RETURN(ExperimentRunResult result, RunExperiment(config, options));
  if (absl::GetFlag(FLAGS_report)) {
    std::vector<std::string> command = {"/usr/bin/python3",
                                        RunfilePath("benchmarks/report/make_report.py"),
                                        options.out_dir};
    if (!reference.empty()) command.push_back("--compare_to=" + reference);
    // The script prints to this process's output and error, as the user expects of a report.
    PB_ASSIGN_OR_RETURN(Subprocess script, Subprocess::Start(command));
    const int status = script.Wait();
    if (!ExitedCleanly(status)) {
      return absl::InternalError(absl::StrCat("the report script ", DescribeWaitStatus(status),
                                              ": ", absl::StrJoin(command, " ")));
    }
    std::cout << "report: " << options.out_dir << "/report.md\n";
  }
  if (result.failed > 0) {
    return absl::InternalError(absl::StrCat(result.failed, " of ", result.cells,
                                            " cells failed; see ", options.out_dir,
                                            "/results.jsonl"));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "run_experiment",
                            "Runs an experiment matrix and writes its report.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
