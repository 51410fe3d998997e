// Training the GPT under a pipeline schedule, as a library call: the train binary is flags ->
// TrainConfig -> RunTraining, and whoever starts train processes (the launcher's users, the
// harness, benchmarks) builds the same TrainConfig and turns it into argv with TrainArgs.
//
// One process trains every stage with the single-process executor; under a launcher (WORLD_SIZE
// set, see DistributedFromEnvironment) each process is one rank of the distributed runtime.
#ifndef PIPEBENCH_ENGINE_TRAINING_RUN_TRAINING_H_
#define PIPEBENCH_ENGINE_TRAINING_RUN_TRAINING_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/dist/communicator.h"
#include "engine/exec/executor.h"
#include "engine/model/gpt.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/params.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// Every field is one train flag of the same name (TrainArgs writes them).
struct TrainConfig {
  std::string schedule = "1f1b_flush";
  int stages = 2;
  int microbatches = 4;
  int accumulation = 0;  // PACI's a; 0: equal to m
  int chunks = 1;
  int batches = 100;  // mini-batches to train
  std::string model = "layers=4,embed=128,heads=4,mlp_ratio=4,context=64";
  int micro_batch_size = 8;
  double lr = 1e-3;
  int warmup = 10;
  double weight_decay = 0.1;
  double min_lr_ratio = 0.1;
  std::uint64_t seed = 0;
  std::string data = "tinyshakespeare";
  std::string partition = "equal";  // equal, cost, or blocks per stage ("2,1,1")
  std::string costs;                // cost file; empty: measure this machine's stage costs
  std::string write_costs;
  int eval_every = 10;  // 0: only at the end
  std::int64_t eval_tokens = 8192;
  int threads = 0;      // 0: the libraries' defaults
  // cpu, cuda (a rank's GPU: rank % visible) or cuda:N; a GPU needs a CUDA build
  // (engine/platform/device.h). Stage costs are measured on it too.
  std::string device = "cpu";
  // Distributed runs only.
  int timeout_seconds = 60;
  std::string trace;
  std::string transport = "gloo";
  double slow_down = 1.0;  // an injected regression: each compute action takes this many times
  std::string fault;  // exit|hang:RANK:(ACTIONS|step|last) or slow:RANK:SECONDS (rank_runtime.h)

  ScheduleParams schedule_params() const;
};

// Every numeric field finite and in range, the transport known, and no more compute threads than
// 4 per core; errors name the flag ("--lr must be a finite number > 0, got -1").
absl::Status ValidateTrainConfig(const TrainConfig& config);

// The single-process executor's options for `config` on `model` (each stage's cosine spanning its
// own optimizer steps); the harness's executor and training cells use them too. An unreadable
// --device is InvalidArgument naming it.
absl::StatusOr<ExecutorOptions> ExecutorOptionsFor(const TrainConfig& config,
                                                   std::shared_ptr<const StageModel> model);

// A finished mini-batch as train writes it (step, train_loss, sim_time, tokens, val_loss when
// evaluated); the harness's training curves hold the same fields.
nlohmann::json BatchRecordToJson(const BatchRecord& record);

// argv (without the program name) that makes a train binary run `config`.
std::vector<std::string> TrainArgs(const TrainConfig& config);

// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, as torch.distributed and cluster schedulers set
// them; nullopt when WORLD_SIZE is unset (a single-process run).
absl::StatusOr<std::optional<CommunicatorOptions>> DistributedFromEnvironment(
    const TrainConfig& config);

// Trains; writes one JSON line per finished mini-batch to `out` (step, train_loss, tokens, and
// for single-process runs sim_time and val_loss when evaluated) and then {"summary": ...}, the
// RunSummary. Returns the summary; a distributed rank other than 0 returns nullopt (rank 0
// gathers and writes for all). Paths are resolved against the directory `bazel run` was called
// from. Errors name the flag or the peer at fault.
absl::StatusOr<std::optional<RunSummary>> RunTraining(
    const TrainConfig& config, const std::optional<CommunicatorOptions>& distributed,
    std::ostream& out);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_TRAINING_RUN_TRAINING_H_
