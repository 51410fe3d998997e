// One experiment run, from a loaded config to results.jsonl and manifest.json in its folder:
// checks that would otherwise fail every cell (BLAS, output folder, data) before the first cell,
// decides whether to resume (resume.h), runs the matrix, and writes the provenance.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_RUN_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_RUN_H_

#include <map>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "benchmarks/harness/experiment_config.h"
#include "benchmarks/harness/matrix_runner.h"
#include "benchmarks/harness/resume.h"

namespace pipebench {

struct ExperimentRunOptions {
  std::string out_dir;  // absolute, or relative to the current directory
  ResumeMode resume = ResumeMode::kAuto;
  int jobs = 1;
  double cell_timeout_seconds = 3600;
  std::map<std::string, double> slow_down;
  // TinyShakespeare's file, instead of the build's (its checksum is verified); empty: the build's.
  std::string data;
  std::string self;  // this binary, which runs isolated cells
  std::string train_binary;  // what distributed cells launch (RunnerOptions::train_binary)
};

struct ExperimentRunResult {
  int cells = 0;
  int failed = 0;
  int reused = 0;
};

// Fails, before any cell runs, with one message when the BLAS is the reference one, the output
// folder cannot be written, or a data set the cells need is missing (the build's instructions
// for providing it) or has the wrong checksum. Progress goes to stderr, its first line saying
// whether the run resumes.
absl::StatusOr<ExperimentRunResult> RunExperiment(const ExperimentConfig& config,
                                                  const ExperimentRunOptions& options);

// The checks above, without running anything: data spec -> the file the cells will read.
absl::StatusOr<std::map<std::string, std::string>> CheckEnvironment(
    const ExperimentConfig& config, const ExperimentRunOptions& options);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_EXPERIMENT_RUN_H_
