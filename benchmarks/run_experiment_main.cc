// Runs an experiment config's matrix and writes its report:
//
//   bazel run //benchmarks:run_experiment -- --config=configs/experiments/throughput.json
//   bazel run //benchmarks:paper        # the same with configs/experiments/paper.json
//
// into reports/<experiment>/: manifest.json, results.jsonl (raw records), summary.csv,
// benchmark.json (Google Benchmark format), report.md and plots/. Rerunning continues an
// interrupted run; --fresh starts over. Exits 1 when a cell failed (the report still lists it).
#include <thread>
#include <iostream>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/harness/experiment_config.h"
#include "benchmarks/harness/matrix_runner.h"
#include "benchmarks/manifest.h"
#include "engine/platform/blas_info.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

ABSL_FLAG(std::string, config, "", "Experiment config (configs/experiments/*.json).");
ABSL_FLAG(std::string, out_dir, "",
          "Report folder, relative to the repository (default: reports/<experiment>).");
ABSL_FLAG(int, jobs, 0, "Training and NAS cells run at once, one core each (0: every core).");
ABSL_FLAG(bool, fresh, false, "Rerun every cell instead of continuing an earlier run.");
ABSL_FLAG(double, cell_timeout_seconds, 3600, "A cell running longer is killed and failed.");
ABSL_FLAG(std::string, slow_down, "",
          "Times the named schedules with costs multiplied by a factor, e.g. paci:2 (to see the "
          "CI gate fail).");
ABSL_FLAG(bool, report, true, "Write the summary, tables and plots after the matrix.");
ABSL_FLAG(std::string, run_cell, "", "Internal: run one isolated cell from this input file.");
ABSL_FLAG(std::string, cell_output, "", "Internal: where --run_cell writes its record.");

namespace pipebench {
namespace {

absl::Status WriteManifest(nlohmann::json manifest, const RunnerOptions& options,
                           const MatrixOutcome& outcome) {
  const BlasInfo blas = DetectBlas();
  manifest["blas"] = {{"kind", BlasKindName(blas.kind)}, {"library", blas.path}};
  manifest["libraries"] = LibraryVersions();
  manifest["runner"] = {{"jobs", options.jobs},
                        {"compute_threads_per_cell", 1},
                        {"slow_down", options.slow_down},
                        {"cells", outcome.records.size()},
                        {"reused_from_earlier_run", outcome.reused},
                        {"failed", outcome.failed}};
  std::ofstream out(options.out_dir + "/manifest.json");
  out << manifest.dump(2) << "\n";
  if (!out) return absl::InternalError("cannot write the manifest in " + options.out_dir);
  return absl::OkStatus();
}

absl::Status Run() {
  if (!absl::GetFlag(FLAGS_run_cell).empty()) {
    return RunIsolatedCell(absl::GetFlag(FLAGS_run_cell), absl::GetFlag(FLAGS_cell_output));
  }
  if (absl::GetFlag(FLAGS_config).empty()) {
    return absl::InvalidArgumentError("--config is required (see configs/experiments/)");
  }
  (void)WarnIfSlowBlas();
  PB_ASSIGN_OR_RETURN(ExperimentConfig config, LoadExperimentConfig(absl::GetFlag(FLAGS_config)));
  RunnerOptions options;
  options.out_dir = ResolvePath(absl::GetFlag(FLAGS_out_dir).empty()
                                    ? "reports/" + config.experiment
                                    : absl::GetFlag(FLAGS_out_dir));
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  options.jobs = absl::GetFlag(FLAGS_jobs) > 0 ? absl::GetFlag(FLAGS_jobs) : cores;
  options.fresh = absl::GetFlag(FLAGS_fresh);
  options.cell_timeout_seconds = absl::GetFlag(FLAGS_cell_timeout_seconds);
  PB_ASSIGN_OR_RETURN(options.slow_down, ParseSlowDown(absl::GetFlag(FLAGS_slow_down)));
  options.self = SelfExecutable();
  nlohmann::json manifest = MakeManifest(WorkspaceRoot(), config.source);
  options.git_commit = manifest["git_commit"].get<std::string>() +
                       (manifest["git_dirty"] == "true" ? "+dirty" : "");
  PB_ASSIGN_OR_RETURN(MatrixOutcome outcome, RunMatrix(config, options));
  PB_RETURN_IF_ERROR(WriteManifest(std::move(manifest), options, outcome));
  if (absl::GetFlag(FLAGS_report)) {
    const std::string command =
        absl::StrCat("/usr/bin/python3 '", RunfilePath("benchmarks/report/make_report.py"), "' '",
                     options.out_dir, "'");
    if (std::system(command.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("the report script failed: ", command));
    }
    std::cout << "report: " << options.out_dir << "/report.md\n";
  }
  if (outcome.failed > 0) {
    return absl::InternalError(absl::StrCat(outcome.failed, " of ", outcome.records.size(),
                                            " cells failed; see ", options.out_dir,
                                            "/results.jsonl"));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Runs an experiment matrix and writes its report.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = pipebench::Run();
  if (!status.ok()) {
    std::cerr << "run_experiment: error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
