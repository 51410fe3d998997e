#include "benchmarks/harness/experiment_run.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "benchmarks/manifest.h"
#include "engine/model/dataset.h"
#include "engine/platform/blas_info.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

namespace pipebench {
namespace {

using nlohmann::json;

absl::Status CheckWritable(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the output folder ", dir, ": ", error.message()));
  }
  const std::string probe = dir + "/.write_test";
  const bool written = static_cast<bool>(std::ofstream(probe) << "x");
  std::remove(probe.c_str());
  if (!written || access(dir.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write to the output folder ", dir, " (pass --out_dir=DIR)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DataPathOf(const std::string& spec, const std::string& data_flag) {
  if (spec == kTinyShakespeare && !data_flag.empty()) {
    const std::string path = ResolvePath(data_flag);
    PB_RETURN_IF_ERROR(VerifyTinyShakespeare(path));
    return path;
  }
  PB_ASSIGN_OR_RETURN(std::string path, ResolveDataPath(spec));
  if (path == "synthetic") return path;
  if (spec == kTinyShakespeare) {
    PB_RETURN_IF_ERROR(VerifyTinyShakespeare(path));
  } else if (access(path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("data file '", path, "' not found"));
  } else {
    // Read as the cells will read it: a folder, an empty file or text too short for any sequence
    // stops the run here instead of failing every cell.
    PB_RETURN_IF_ERROR(LoadTokenData(path).status());
  }
  return path;
}

std::optional<json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  json value = json::parse(in, nullptr, false);
  if (!value.is_object()) return std::nullopt;
  return value;
}

absl::Status WriteJson(const std::string& path, const json& value) {
  const std::string temporary = path + ".tmp";
  PB_RETURN_IF_ERROR(WriteTextFile(temporary, value.dump(2) + "\n"));
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

// The report of an earlier run must not sit beside the records of this one while it runs.
void RemoveEarlierReport(const std::string& dir) {
  for (const char* name : {"report.md", "summary.csv", "benchmark.json", "reproduction.json"}) {
    std::filesystem::remove(dir + "/" + name);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir + "/plots", ignored);
}

// Which (commit, host) produced how many records, when that is not only this run's.
json RecordSources(const std::vector<json>& records, const std::string& commit,
                   const std::string& host) {
  std::map<std::pair<std::string, std::string>, int> counts;
  for (const json& record : records) {
    ++counts[{record.value("git_commit", "unknown"), record.value("host", "unknown")}];
  }
  if (counts.size() == 1 && counts.begin()->first == std::make_pair(commit, host)) return nullptr;
  json sources = json::array();
  for (const auto& [source, count] : counts) {
    sources.push_back({{"git_commit", source.first}, {"host", source.second}, {"cells", count}});
  }
  return sources;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> CheckEnvironment(
    const ExperimentConfig& config, const ExperimentRunOptions& options) {
  PB_RETURN_IF_ERROR(CheckFastBlas(DetectBlas()));
  PB_RETURN_IF_ERROR(CheckWritable(options.out_dir));
  std::set<std::string> specs;
  for (const Cell& cell : config.cells) {
    if (cell.params.contains("data")) specs.insert(cell.params["data"].get<std::string>());
  }
  std::map<std::string, std::string> paths;
  for (const std::string& spec : specs) {
    PB_ASSIGN_OR_RETURN(paths[spec], DataPathOf(spec, options.data));
  }
  return paths;
}

absl::StatusOr<ExperimentRunResult> RunExperiment(const ExperimentConfig& config,
                                                  const ExperimentRunOptions& options) {
  RunnerOptions runner;
  PB_ASSIGN_OR_RETURN(runner.data_paths, CheckEnvironment(config, options));
  runner.out_dir = options.out_dir;
  runner.jobs = options.jobs;
  runner.cell_timeout_seconds = options.cell_timeout_seconds;
  runner.slow_down = options.slow_down;
  runner.self = options.self;
  runner.train_binary = options.train_binary;

  json manifest = MakeManifest(WorkspaceRoot(), config.source);
  manifest["complete"] = false;
  manifest["results_depend_on"] = {{"slow_down", options.slow_down}};
  const std::string manifest_path = options.out_dir + "/manifest.json";
  const std::string results_path = options.out_dir + "/results.jsonl";
  const ResumePlan plan =
      PlanResume(ReadJson(manifest_path), manifest, options.resume,
                 CountFinishedCells(config, results_path), static_cast<int>(config.cells.size()));
  if (!plan.message.empty()) std::cerr << plan.message << "\n";
  runner.resume = plan.resume;
  // Two dirty trees at one commit are different code: the stamp carries the diff's hash.
  runner.git_commit =
      manifest["git_commit"].get<std::string>() +
      (manifest["git_dirty"] == "true"
           ? "+dirty:" + manifest["git_diff_sha256"].get<std::string>().substr(0, 12)
           : "");
  runner.host = manifest["host"].get<std::string>();
  RemoveEarlierReport(options.out_dir);
  PB_RETURN_IF_ERROR(WriteJson(manifest_path, manifest));

  PB_ASSIGN_OR_RETURN(MatrixOutcome outcome, RunMatrix(config, runner));

  const BlasInfo blas = DetectBlas();
  manifest["complete"] = true;
  manifest["blas"] = {{"kind", BlasKindName(blas.kind)}, {"library", blas.path}};
  manifest["libraries"] = LibraryVersions();
  manifest["data"] = runner.data_paths;
  manifest["runner"] = {{"jobs", options.jobs},
                        {"compute_threads_per_cell", 1},
                        {"slow_down", options.slow_down},
                        {"cells", outcome.records.size()},
                        {"reused_from_earlier_run", outcome.reused},
                        {"failed", outcome.failed}};
  // The manifest speaks for this run; records it did not produce say where they came from.
  if (json sources = RecordSources(outcome.records, runner.git_commit, runner.host);
      !sources.is_null()) {
    manifest["records_from"] = sources;
  }
  PB_RETURN_IF_ERROR(WriteJson(manifest_path, manifest));
  return ExperimentRunResult{static_cast<int>(outcome.records.size()), outcome.failed,
                             outcome.reused};
}

}  // namespace pipebench
