#include "benchmarks/harness/matrix_runner.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "benchmarks/harness/cell_runner.h"
#include "benchmarks/harness/progress.h"
#include "engine/platform/blas_info.h"
#include "engine/runtime/run_summary.h"
#include "engine/util/status_macros.h"
#include "engine/util/subprocess.h"

namespace pipebench {
namespace {

using nlohmann::json;

// Set by SIGINT and SIGTERM while a matrix runs.
volatile std::sig_atomic_t g_interrupt_signal = 0;

void OnInterrupt(int signal) { g_interrupt_signal = signal; }
json CellJson(const Cell& cell) {
  return {{"study", cell.study}, {"kind", cell.kind}, {"params", cell.params},
          {"key", cell.key}, {"costs_key", cell.costs_key}};
}

Cell CellFromJson(const json& j) {
  Cell cell;
  cell.study = j["study"];
  cell.kind = j["kind"];
  cell.params = j["params"];
  cell.key = j["key"];
  cell.costs_key = j["costs_key"];
  return cell;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct ReadRecord {
  int line;  // 1-based, in results.jsonl
  json record;
};

// Why a line of results.jsonl cannot be used as a record, or "" when it can.
std::string RecordProblem(const json& record) {
  if (!record.is_object()) return "not a JSON object";
  for (const char* field : {"study", "kind", "key", "status"}) {
    if (!record.contains(field)) return absl::StrCat("it has no \"", field, "\"");
    if (!record[field].is_string()) {
      return absl::StrCat("its \"", field, "\" is not a string: ", record[field].dump());
    }
  }
  if (record["status"] == "ok" && !record.contains("result")) return "an ok record without a result";
  return "";
}

// The usable records of a results.jsonl, with their line numbers; each unusable line (a torn
// write, a corrupt block, a hand edit) is described in `problems` as "FILE:LINE: why".
std::vector<ReadRecord> ReadRecords(const std::string& path,
                                    std::vector<std::string>* problems = nullptr) {
  std::vector<ReadRecord> records;
  std::ifstream in(path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    json record = json::parse(line, nullptr, false);
    std::string problem = record.is_discarded() ? "not valid JSON" : RecordProblem(record);
    if (problem.empty()) {
      records.push_back({number, std::move(record)});
    } else if (problems != nullptr) {
      problems->push_back(absl::StrCat(path, ":", number, ": ", problem));
    }
  }
  return records;
}

// A run killed mid-append leaves a last line without its newline; appending after it would join
// the next record to it and lose both. Cuts the file after its last whole line and returns how
// many bytes went (0 when the file ends whole or does not exist).
absl::StatusOr<std::uintmax_t> CutTornTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return 0;
  const std::streamoff size = in.tellg();
  if (size <= 0) return 0;
  std::streamoff keep = size;
  char c = 0;
  while (keep > 0) {
    in.seekg(keep - 1);
    in.get(c);
    if (c == '\n') break;
    --keep;
  }
  if (keep == size) return 0;
  in.close();
  std::error_code error;
  std::filesystem::resize_file(path, keep, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot cut the torn last line of ", path, ": ",
                                            error.message()));
  }
  return static_cast<std::uintmax_t>(size - keep);
}

// Whether a finished record of a pipeline cell carries a run summary of the schema this build
// writes (a resumed run's earlier records may come from an older build).
bool CurrentSchema(const json& record) {
  const std::string kind = record.value("kind", "");
  if (record.value("status", "") != "ok") return true;
  if (kind != kSimulateCell && kind != kExecutorCell && kind != kTrainingCell &&
      kind != kDistributedCell && kind != kNasPipelineCell) {
    return true;
  }
  const json* result = record.contains("result") ? &record["result"] : nullptr;
  return result != nullptr && result->is_object() && result->contains("summary") &&
         (*result)["summary"].value("schema_version", 0) == kRunSummarySchemaVersion;
}

// "time_to_accuracy_p8 paci seed 0": a running cell in the progress line.
std::string CellLabel(const Cell& cell) {
  const json& p = cell.params;
  std::string label = absl::StrCat(cell.study, " ", cell.kind);
  for (const char* name : {"variant", "optimizer", "storage"}) {
    if (p.contains(name)) absl::StrAppend(&label, " ", p[name].get<std::string>());
  }
  // A pipelined search names its schedule (other cells name theirs in "variant").
  if (p.contains("schedule") && !p.contains("variant")) {
    absl::StrAppend(&label, " ", p["schedule"].get<std::string>());
  }
  if (p.contains("stages")) absl::StrAppend(&label, " p=", p["stages"].dump());
  if (p.contains("seed")) absl::StrAppend(&label, " seed ", p["seed"].dump());
  return label;
}

// Progress files: a cell process rewrites "<done> <total>" as it advances.
void WriteSteps(const std::string& path, std::int64_t done, std::int64_t total) {
  const std::string temporary = path + ".tmp";
  std::ofstream(temporary) << done << " " << total << "\n";
  std::rename(temporary.c_str(), path.c_str());
}

void ReadSteps(const std::string& path, RunningCell* cell) {
  std::ifstream in(path);
  std::int64_t done = 0, total = 0;
  if (in >> done >> total && total > 0) {
    cell->steps_done = done;
    cell->steps_total = total;
  }
}

// The last lines of a cell's log: its error message, without LibTorch's stack dumps.
std::string Tail(const std::string& text, size_t max_chars = 600) {
  std::string trimmed(absl::StripTrailingAsciiWhitespace(text));
  if (trimmed.size() > max_chars) trimmed = "..." + trimmed.substr(trimmed.size() - max_chars);
  return trimmed.empty() ? "(no output)" : trimmed;
}

class Matrix {
 public:
  Matrix(const ExperimentConfig& config, const RunnerOptions& options)
      : config_(config), options_(options) {}

  absl::StatusOr<MatrixOutcome> Run() {
    PB_RETURN_IF_ERROR(Prepare());
    std::vector<std::string> pending_kinds;
    for (const Cell& cell : config_.cells) {
      if (!done_.count(cell.key)) pending_kinds.push_back(cell.kind);
    }
    progress_ = std::make_unique<Progress>(pending_kinds, options_.jobs);
    start_ = Clock::now();
    if (!pending_kinds.empty()) {
      std::cerr << "running " << pending_kinds.size() << " of " << config_.cells.size()
                << " cells (" << outcome_.reused << " finished earlier) into "
                << options_.out_dir << "\n";
    }
    RunPhase(
        [](const Cell& c) {
          return c.kind == kCostsCell || c.kind == kNasCostCell ||
                 c.kind == kNasPipelineCostsCell;
        },
        1, true);
    RunPhase([](const Cell& c) { return c.kind == kSimulateCell; }, 1, false);
    RunPhase(
        [](const Cell& c) {
          return c.kind == kExecutorCell || c.kind == kTrainingCell || c.kind == kNasCell ||
                 c.kind == kNasPipelineCell;
        },
        options_.jobs, true);
    RunPhase([](const Cell& c) { return c.kind == kDistributedCell; }, 1, true);
    if (tty_) std::cerr << "\n";
    // An interrupt during the last cell of a phase ends no loop by itself: it must still stop the
    // run, with a non-zero exit.
    if (g_interrupt_signal != 0) interrupted_ = true;
    if (!write_error_.ok()) return write_error_;
    if (interrupted_) {
      // Counted from the file as a resume will read it, not from memory.
      const int finished = CountFinishedCells(config_, ResultsPath());
      return absl::CancelledError(absl::StrCat("interrupted; the ", finished,
                                               " finished cells are in ", ResultsPath(),
                                               " and the same command continues the run"));
    }
    // Rewrite the records of exactly this matrix, in its order (drops those of old configs).
    for (const Cell& cell : config_.cells) outcome_.records.push_back(done_.at(cell.key));
    PB_RETURN_IF_ERROR(ReplaceResults(outcome_.records));
    rmdir((options_.out_dir + "/cells").c_str());  // kept only while it holds failed cells' logs
    return std::move(outcome_);
  }

 private:
  std::string ResultsPath() const { return options_.out_dir + "/results.jsonl"; }

  absl::Status Prepare() {
    std::error_code error;
    std::filesystem::create_directories(options_.out_dir + "/cells", error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", options_.out_dir, ": ", error.message()));
    }
    if (options_.resume) PB_RETURN_IF_ERROR(LoadEarlierRecords());
    std::set<std::string> keys;
    for (const Cell& cell : config_.cells) {
      keys.insert(cell.key);
      if (done_.count(cell.key)) ++outcome_.reused;
    }
    for (auto it = done_.begin(); it != done_.end();) {
      it = keys.count(it->first) ? std::next(it) : done_.erase(it);
    }
    // A fresh run must not leave an earlier run's records behind for a later resume to pick up.
    results_.open(ResultsPath(), options_.resume ? std::ios::app : std::ios::trunc);
    if (!results_) return absl::InternalError(absl::StrCat("cannot write ", ResultsPath()));
    tty_ = isatty(STDERR_FILENO);
    return absl::OkStatus();
  }

  // The records an earlier run left, for a resumed run. A record that cannot be used - a torn or
  // corrupt line, a record of an older run summary schema, a costs record whose costs do not
  // parse - is dropped and reported by file and line; its cell runs again. results.jsonl is
  // rewritten without them, so appends start on a whole line and the report never sees both.
  absl::Status LoadEarlierRecords() {
    PB_ASSIGN_OR_RETURN(const std::uintmax_t torn, CutTornTail(ResultsPath()));
    if (torn > 0) {
      std::cerr << ResultsPath() << ": its last line was torn (" << torn
                << " bytes without a newline, a run stopped mid-write): dropped; its cell runs "
                   "again\n";
    }
    std::set<std::string> costs_keys;
    for (const Cell& cell : config_.cells) costs_keys.insert(cell.costs_key);
    std::vector<std::string> problems;
    std::vector<json> kept;
    for (ReadRecord& read : ReadRecords(ResultsPath(), &problems)) {
      json& record = read.record;
      std::string problem;
      if (!CurrentSchema(record)) {
        problem = "a record of an older run summary schema";
      } else if (record["status"] == "ok" && costs_keys.count(record["key"])) {
        absl::Status costs = CostsFromRecord(record["result"]).status();
        if (costs.ok()) costs = PartitionFromRecord(record["result"]).status();
        if (!costs.ok()) problem = absl::StrCat("a costs record: ", costs.message());
      }
      if (!problem.empty()) {
        problems.push_back(absl::StrCat(ResultsPath(), ":", read.line, ": ", problem));
        continue;
      }
      if (record["status"] == "ok") done_[record["key"].get<std::string>()] = record;
      kept.push_back(std::move(record));
    }
    if (problems.empty()) return absl::OkStatus();
    for (const std::string& problem : problems) {
      std::cerr << problem << ": dropped; its cell runs again\n";
    }
    return ReplaceResults(kept);
  }

  // results.jsonl holds exactly `records`, replaced only once the new file is whole.
  absl::Status ReplaceResults(const std::vector<json>& records) {
    const std::string path = ResultsPath();
    const std::string temporary = path + ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      for (const json& record : records) out << record.dump() << "\n";
      out.close();
      if (!out) {
        const std::string reason = std::strerror(errno);
        std::remove(temporary.c_str());
        return absl::ResourceExhaustedError(absl::StrCat(
            "cannot write ", temporary, ": ", reason, "; ", path, " keeps every record"));
      }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot replace ", path, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  CellInputs InputsOf(const Cell& cell, std::string* missing) const {
    CellInputs inputs;
    inputs.train_binary = options_.train_binary;
    auto slow = options_.slow_down.find(cell.params.value("schedule", ""));
    if (slow != options_.slow_down.end()) inputs.slow_down = slow->second;
    if (auto data = options_.data_paths.find(cell.params.value("data", ""));
        data != options_.data_paths.end()) {
      inputs.data_path = data->second;
    }
    if (!cell.costs_key.empty()) {
      auto it = done_.find(cell.costs_key);
      if (it == done_.end() || it->second["status"] != "ok") {
        *missing = "its cost measurement failed";
        return inputs;
      }
      absl::StatusOr<CostModel> costs = CostsFromRecord(it->second["result"]);
      absl::StatusOr<std::vector<UnitRange>> partition =
          PartitionFromRecord(it->second["result"]);
      if (!costs.ok() || !partition.ok()) {
        *missing = absl::StrCat("its cost record is unusable: ",
                                (costs.ok() ? partition.status() : costs.status()).message());
        return inputs;
      }
      inputs.costs = *std::move(costs);
      inputs.partition = *std::move(partition);
    }
    return inputs;
  }

  void Record(const Cell& cell, const std::string& status, const json& result,
              const std::string& error, double seconds, double slow_down) {
    json record = CellJson(cell);
    record["status"] = status;
    record["seconds"] = seconds;
    record["git_commit"] = options_.git_commit;
    record["host"] = options_.host;
    if (slow_down != 1.0) record["slow_down"] = slow_down;
    if (status == "ok") record["result"] = result;
    if (!error.empty()) record["error"] = error;
    results_ << record.dump() << "\n" << std::flush;
    if (!results_ && write_error_.ok()) {
      // A full or vanished disk: stop here rather than run cells whose records cannot be kept.
      write_error_ = absl::ResourceExhaustedError(absl::StrCat(
          "cannot append to ", ResultsPath(), ": ", std::strerror(errno), "; the run stops; the ",
          done_.size(), " records before it are intact and the same command continues the run "
          "once there is room"));
    }
    done_[cell.key] = record;
    if (status == "failed") ++outcome_.failed;
    if (status != "ok") {
      std::cerr << (tty_ ? "\r\33[K" : "") << status << ": " << cell.kind << " "
                << cell.params.dump() << "\n  " << error << "\n";
    }
    progress_->Finished(cell.kind, seconds, status != "failed");
    ShowProgress(cell.kind != kSimulateCell);
  }

  // On a terminal the line is redrawn every second; in a log, a line per finished cell that is
  // not a millisecond simulation, and every 15 s while cells run.
  void ShowProgress(bool cell_finished) {
    const double elapsed = SecondsSince(start_);
    std::vector<RunningCell> running;
    for (const Child& child : running_) {
      RunningCell cell{child.cell->kind, CellLabel(*child.cell), SecondsSince(child.start)};
      ReadSteps(child.progress, &cell);
      running.push_back(std::move(cell));
    }
    std::string line = progress_->Line(elapsed, running);
    if (tty_) {
      // One screen line, or the redraw (which clears only the last line) would scroll.
      winsize size{};
      if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
          line.size() >= size.ws_col) {
        line.resize(size.ws_col - 1);
      }
      std::cerr << "\r\33[K" << line << std::flush;
    } else if (cell_finished || elapsed - last_line_ >= 15) {
      std::cerr << line << "\n" << std::flush;
    } else {
      return;
    }
    last_line_ = elapsed;
  }

  struct Child {
    Subprocess process;
    const Cell* cell;
    Clock::time_point start;
    std::string input, output, log, progress;
    double slow_down;
  };

  absl::StatusOr<Child> Spawn(const Cell& cell, const CellInputs& inputs, int index) {
    Child child{Subprocess(), &cell, Clock::now(), "", "", "", "", inputs.slow_down};
    const std::string base = absl::StrCat(options_.out_dir, "/cells/", index);
    child.input = base + ".in.json";
    child.output = base + ".out.json";
    child.log = base + ".log";
    child.progress = base + ".steps";
    std::remove(child.progress.c_str());
    json in = {{"cell", CellJson(cell)},
               {"slow_down", inputs.slow_down},
               {"data_path", inputs.data_path},
               {"train_binary", inputs.train_binary},
               {"steps_path", child.progress}};
    if (inputs.costs) in["costs"] = json::parse(CostModelToJson(*inputs.costs));
    if (!inputs.partition.empty()) in["partition"] = PartitionToJson(inputs.partition);
    std::ofstream(child.input) << in.dump();
    std::remove(child.output.c_str());
    // /proc/self/exe, not the path: a rebuild during a long run replaces the file at that path,
    // and every cell must run the code the run started with (whose commit its records carry).
    // Its own process group: a timeout kills the cell's own children too (the launcher's ranks).
    PB_ASSIGN_OR_RETURN(child.process,
                        Subprocess::Start({options_.self, "--run_cell=" + child.input,
                                           "--cell_output=" + child.output},
                                          {.stdout_path = child.log,
                                           .stderr_path = child.log,
                                           .own_process_group = true,
                                           .executable = "/proc/self/exe"}));
    return child;
  }

  void Reap(const Child& child, int wait_status, bool timed_out) {
    const double seconds = SecondsSince(child.start);
    std::remove(child.progress.c_str());
    if (timed_out) {
      Record(*child.cell, "failed", nullptr,
             absl::StrCat("timed out after ", static_cast<int>(seconds), " s (limit ",
                          options_.cell_timeout_seconds, " s); log: ", child.log),
             seconds, child.slow_down);
      return;
    }
    json out = json::parse(ReadFile(child.output), nullptr, false);
    if (ExitedCleanly(wait_status) && out.is_object() && out.contains("result")) {
      Record(*child.cell, "ok", out["result"], "", seconds, child.slow_down);
      std::remove(child.log.c_str());
      std::remove(child.input.c_str());
      std::remove(child.output.c_str());
      return;
    }
    const std::string kind = out.is_object() ? out.value("status", "failed") : "failed";
    Record(*child.cell, kind, nullptr,
           absl::StrCat(DescribeWaitStatus(wait_status), ": ", Tail(ReadFile(child.log))),
           seconds, child.slow_down);
  }

  // A simulation, in this process: it checks in with the cell's time limit and Ctrl-C as it
  // runs. An interrupted cell is not recorded (the resumed run runs it); one past its limit fails
  // as an isolated cell does.
  void RunInProcess(const Cell& cell, CellInputs inputs) {
    const auto start = Clock::now();
    inputs.check_in = [&]() -> absl::Status {
      if (g_interrupt_signal != 0) return absl::CancelledError("interrupted");
      const double seconds = SecondsSince(start);
      if (seconds > options_.cell_timeout_seconds) {
        return absl::DeadlineExceededError(absl::StrCat(
            "timed out after ", static_cast<int>(seconds), " s (limit ",
            options_.cell_timeout_seconds, " s)"));
      }
      return absl::OkStatus();
    };
    absl::StatusOr<json> result = RunCell(cell, inputs);
    if (absl::IsCancelled(result.status()) && g_interrupt_signal != 0) return;
    Record(cell, result.ok() ? "ok" : "failed", result.ok() ? *result : json(),
           result.ok() ? "" : std::string(result.status().message()), SecondsSince(start),
           inputs.slow_down);
  }

  template <typename Predicate>
  void RunPhase(Predicate in_phase, int parallel, bool isolated) {
    std::deque<std::pair<const Cell*, int>> queue;
    for (size_t i = 0; i < config_.cells.size(); ++i) {
      const Cell& cell = config_.cells[i];
      if (in_phase(cell) && !done_.count(cell.key)) queue.push_back({&cell, static_cast<int>(i)});
    }
    std::vector<Child>& running = running_;
    while ((!queue.empty() || !running.empty()) && !interrupted_) {
      if (g_interrupt_signal != 0 || !write_error_.ok()) {
        // Ctrl-C, SIGTERM or records that can no longer be written: stop every running cell (and
        // its own children) before returning, so none keeps running beside a resumed run;
        // finished records stay.
        for (Child& child : running) {
          child.process.Kill();
          std::remove(child.progress.c_str());
        }
        running.clear();
        interrupted_ = true;
        break;
      }
      while (!queue.empty() && static_cast<int>(running.size()) < parallel &&
             g_interrupt_signal == 0 && write_error_.ok()) {
        auto [cell, index] = queue.front();
        queue.pop_front();
        std::string missing;
        const CellInputs inputs = InputsOf(*cell, &missing);
        if (!missing.empty()) {
          Record(*cell, "failed", nullptr, missing, 0, inputs.slow_down);
          continue;
        }
        if (!isolated) {
          RunInProcess(*cell, inputs);
          continue;
        }
        auto child = Spawn(*cell, inputs, index);
        if (!child.ok()) {
          Record(*cell, "failed", nullptr, std::string(child.status().message()), 0,
                 inputs.slow_down);
          continue;
        }
        running.push_back(std::move(*child));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!tty_ || SecondsSince(start_) - last_line_ >= 1) ShowProgress(false);
      for (size_t i = 0; i < running.size();) {
        std::optional<int> status = running[i].process.Poll();
        const bool timed_out =
            !status && SecondsSince(running[i].start) > options_.cell_timeout_seconds;
        if (!status && !timed_out) {
          ++i;
          continue;
        }
        if (timed_out) status = running[i].process.Kill();
        Child child = std::move(running[i]);
        running.erase(running.begin() + i);  // before Reap, whose progress line lists the rest
        Reap(child, *status, timed_out);
      }
    }
  }

  const ExperimentConfig& config_;
  const RunnerOptions& options_;
  std::map<std::string, json> done_;  // key -> record
  std::ofstream results_;
  std::vector<Child> running_;  // cells running in their own processes now
  bool interrupted_ = false;
  absl::Status write_error_;  // the first failed append to results.jsonl
  std::unique_ptr<Progress> progress_;
  Clock::time_point start_;
  MatrixOutcome outcome_;
  bool tty_ = false;
  double last_line_ = 0;
};

}  // namespace

absl::StatusOr<MatrixOutcome> RunMatrix(const ExperimentConfig& config,
                                        const RunnerOptions& options) {
  // Cells find their runfiles (the launcher) through RUNFILES_DIR, since a cell's own executable
  // path may no longer name a file once a rebuild has replaced it.
  const std::string runfiles = options.self + ".runfiles";
  if (std::getenv("RUNFILES_DIR") == nullptr && access(runfiles.c_str(), R_OK) == 0) {
    setenv("RUNFILES_DIR", runfiles.c_str(), 0);
  }
  struct sigaction on_interrupt {}, old_int{}, old_term{};
  on_interrupt.sa_handler = OnInterrupt;
  sigemptyset(&on_interrupt.sa_mask);
  g_interrupt_signal = 0;
  sigaction(SIGINT, &on_interrupt, &old_int);
  sigaction(SIGTERM, &on_interrupt, &old_term);
  absl::StatusOr<MatrixOutcome> outcome = Matrix(config, options).Run();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return outcome;
}

absl::Status RunIsolatedCell(const std::string& input, const std::string& output) {
  json in = json::parse(ReadFile(input), nullptr, false);
  if (!in.is_object() || !in.contains("cell")) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read cell input ", input));
  }
  SetComputeThreads(1);
  const Cell cell = CellFromJson(in["cell"]);
  CellInputs inputs;
  inputs.slow_down = in.value("slow_down", 1.0);
  inputs.data_path = in.value("data_path", "");
  inputs.train_binary = in.value("train_binary", "");
  const std::string steps_path = in.value("steps_path", "");
  if (!steps_path.empty()) {
    inputs.report_steps = [steps_path](std::int64_t done, std::int64_t total) {
      WriteSteps(steps_path, done, total);
    };
  }
  if (in.contains("costs")) {
    PB_ASSIGN_OR_RETURN(CostModel costs, ParseCostModelJson(in["costs"].dump()));
    PB_ASSIGN_OR_RETURN(inputs.partition, PartitionFromRecord(in));
    inputs.costs = costs;
  }
  auto result = RunCell(cell, inputs);
  if (!result.ok()) {
    // A machine that cannot run the cell (too few cores) is not a failure of the code.
    if (absl::IsFailedPrecondition(result.status())) {
      std::ofstream(output) << json{{"status", "skipped"}}.dump();
    }
    return result.status();
  }
  std::ofstream out(output);
  out << json{{"result", *result}}.dump();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", output));
  return absl::OkStatus();
}

int CountFinishedCells(const ExperimentConfig& config, const std::string& results_path) {
  std::set<std::string> finished;
  for (const ReadRecord& read : ReadRecords(results_path)) {
    if (read.record["status"] == "ok") finished.insert(read.record["key"].get<std::string>());
  }
  int count = 0;
  for (const Cell& cell : config.cells) count += finished.count(cell.key);
  return count;
}

absl::StatusOr<std::map<std::string, double>> ParseSlowDown(const std::string& text) {
  std::map<std::string, double> factors;
  if (text.empty()) return factors;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    double factor = 0;
    if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtod(parts[1], &factor) ||
        !(factor > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--slow_down must look like paci:2,gpipe:1.5 (schedule:factor > 0), got '", text, "'"));
    }
    factors[parts[0]] = factor;
  }
  return factors;
}

}  // namespace pipebench
