// Trains the GPT under one pipeline schedule in a single process and writes one JSON line per
// finished mini-batch (step, train loss, simulated time, tokens, validation loss when evaluated)
// and a closing summary line.
//
//   bazel run //:train -- --schedule=paci --stages=4 --microbatches=4 --steps=200
//   bazel run //:train -- --schedule=1f1b_flush --data=synthetic --steps=50 --out=/tmp/run.jsonl
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/dist/communicator.h"
#include "engine/dist/rank_runtime.h"
#include "engine/dist/run_report.h"
#include "engine/exec/cost_measurement.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "engine/platform/blas_info.h"
#include "engine/schedule/registry.h"
#include "engine/sim/cost_model.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, schedule, "1f1b_flush", "Registered schedule name.");
ABSL_FLAG(int, stages, 2, "Pipeline ranks p.");
ABSL_FLAG(int, microbatches, 4, "Micro-batches per mini-batch m.");
ABSL_FLAG(int, accumulation, 0, "PACI's backwards per optimizer step a (0: equal to m).");
ABSL_FLAG(int, chunks, 1, "Virtual chunks per rank v (interleaved_1f1b).");
ABSL_FLAG(int, steps, 100, "Mini-batches to train.");
ABSL_FLAG(std::string, model, "layers=4,embed=128,heads=4,mlp_ratio=4,context=64",
          "GPT shape as key=value pairs: layers, embed, heads, mlp_ratio, context.");
ABSL_FLAG(int, micro_batch_size, 8, "Sequences per micro-batch.");
ABSL_FLAG(double, lr, 1e-3, "Peak learning rate.");
ABSL_FLAG(int, warmup, 10, "Warmup optimizer steps.");
ABSL_FLAG(double, weight_decay, 0.1, "AdamW weight decay (matrices and embeddings only).");
ABSL_FLAG(double, min_lr_ratio, 0.1, "Cosine floor as a fraction of the peak rate.");
ABSL_FLAG(uint64_t, seed, 0, "Seed for initialisation and data order.");
ABSL_FLAG(std::string, data, "tinyshakespeare",
          "'tinyshakespeare' (the file the build fetches, checksummed), 'synthetic', or a text file.");
ABSL_FLAG(std::string, partition, "equal",
          "equal (by layer count), cost (balance measured layer costs), or blocks per stage, "
          "e.g. 2,1,1.");
ABSL_FLAG(std::string, costs, "",
          "Cost file for the simulated clock; empty: measure this machine's stage costs.");
ABSL_FLAG(std::string, write_costs, "", "Also write the measured stage costs to this file.");
ABSL_FLAG(int, eval_every, 10, "Validation loss every this many mini-batches (0: at the end).");
ABSL_FLAG(int64_t, eval_tokens, 8192,
          "Tokens of the fixed validation subset each evaluation reads (the validation split's "
          "first tokens).");
ABSL_FLAG(std::string, out, "", "Write the JSON lines here instead of standard output.");
ABSL_FLAG(int, threads, 0,
          "LibTorch and OpenBLAS threads (0: their defaults; under the launcher, cores / nproc).");
ABSL_FLAG(int, timeout_seconds, 60,
          "Distributed runs: how long a rank waits for a peer before naming it as failed.");
ABSL_FLAG(std::string, trace, "",
          "Distributed runs: rank 0 writes a Chrome/Perfetto trace of every rank's real timings.");
ABSL_FLAG(std::string, transport, "gloo",
          "Distributed runs: gloo, or nccl in a --config=nccl build (stage tensors then travel "
          "through each rank's GPU).");
ABSL_FLAG(std::string, fault, "",
          "Fault injection for testing failure handling: exit:RANK:ACTIONS or hang:RANK:ACTIONS.");

namespace pipebench {
namespace {

using nlohmann::json;

absl::StatusOr<std::vector<UnitRange>> MakePartition(const GptConfig& model, int model_stages,
                                                     int micro_batch_size) {
  const std::string spec = absl::GetFlag(FLAGS_partition);
  if (spec == "equal") return PartitionByLayers(model, model_stages);
  if (spec == "cost") {
    return PartitionByMeasuredTime(model, model_stages, {.micro_batch_size = micro_batch_size});
  }
  std::vector<int> blocks;
  for (absl::string_view count : absl::StrSplit(spec, ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(count, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--partition must be equal, cost or a list like 2,1,1; got '", spec, "'"));
    }
    blocks.push_back(value);
  }
  if (static_cast<int>(blocks.size()) != model_stages) {
    return absl::InvalidArgumentError(absl::StrCat("--partition lists ", blocks.size(),
                                                   " stages, the schedule has ", model_stages));
  }
  return PartitionFromBlockCounts(model, blocks);
}

// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, as torch.distributed and cluster schedulers set
// them; nullopt when WORLD_SIZE is unset (a single-process run).
absl::StatusOr<std::optional<CommunicatorOptions>> DistributedFromEnvironment() {
  const char* world = std::getenv("WORLD_SIZE");
  if (world == nullptr) return std::optional<CommunicatorOptions>();
  CommunicatorOptions options;
  auto read_int = [](const char* name, const char* fallback, int* out) -> absl::Status {
    const char* value = std::getenv(name);
    if (value == nullptr) value = fallback;
    if (value == nullptr || !absl::SimpleAtoi(value, out)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, " must be an integer, got '",
                       value == nullptr ? "" : value, "'"));
    }
    return absl::OkStatus();
  };
  PB_RETURN_IF_ERROR(read_int("WORLD_SIZE", nullptr, &options.world_size));
  PB_RETURN_IF_ERROR(read_int("RANK", nullptr, &options.rank));
  PB_RETURN_IF_ERROR(read_int("MASTER_PORT", "29500", &options.master_port));
  if (const char* addr = std::getenv("MASTER_ADDR")) options.master_addr = addr;
  options.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));
  PB_ASSIGN_OR_RETURN(options.transport, ParseTransport(absl::GetFlag(FLAGS_transport)));
  return std::optional<CommunicatorOptions>(options);
}

absl::StatusOr<FaultInjection> ParseFault(const std::string& text) {
  FaultInjection fault;
  if (text.empty()) return fault;
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() != 3 || (parts[0] != "exit" && parts[0] != "hang") ||
      !absl::SimpleAtoi(parts[1], &fault.rank) || !absl::SimpleAtoi(parts[2], &fault.after_actions)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fault must be exit:RANK:ACTIONS or hang:RANK:ACTIONS, got '", text, "'"));
  }
  fault.kind = parts[0] == "exit" ? FaultInjection::Kind::kExit : FaultInjection::Kind::kHang;
  fault.exit_process = true;
  return fault;
}

absl::Status RunDistributed(const CommunicatorOptions& comm_options, const Schedule& schedule,
                            const std::vector<UnitRange>& partition, const TokenDataset& data,
                            const ExecutorOptions& options, std::ostream& out) {
  PB_ASSIGN_OR_RETURN(FaultInjection fault, ParseFault(absl::GetFlag(FLAGS_fault)));
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, Communicator::Connect(comm_options));
  PB_ASSIGN_OR_RETURN(RankResult result,
                      RunRank(schedule, partition, data, options, *comm, fault));
  return ReportDistributedRun(*comm, schedule, result,
                              static_cast<std::int64_t>(options.micro_batch_size) *
                                  options.model.context,
                              out, ResolveOutputPath(absl::GetFlag(FLAGS_trace)));
}

absl::Status Run() {
  (void)WarnIfSlowBlas();
  if (absl::GetFlag(FLAGS_threads) > 0) SetComputeThreads(absl::GetFlag(FLAGS_threads));
  PB_ASSIGN_OR_RETURN(std::optional<CommunicatorOptions> distributed,
                      DistributedFromEnvironment());
  ScheduleParams params;
  params.stages = absl::GetFlag(FLAGS_stages);
  params.microbatches = absl::GetFlag(FLAGS_microbatches);
  params.batches = absl::GetFlag(FLAGS_steps);
  params.accumulation = absl::GetFlag(FLAGS_accumulation);
  params.chunks = absl::GetFlag(FLAGS_chunks);
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule,
                      MakeSchedule(absl::GetFlag(FLAGS_schedule), params));
  if (distributed && distributed->transport == Transport::kNccl && params.chunks > 1) {
    // Interleaved ranks receive two streams from one peer, which only message tags keep apart.
    return absl::InvalidArgumentError(
        "--transport=nccl matches messages by order, not tag: interleaved schedules (--chunks > "
        "1) need gloo");
  }
  if (distributed && distributed->world_size != params.stages) {
    return absl::InvalidArgumentError(absl::StrCat("WORLD_SIZE is ", distributed->world_size,
                                                   " but --stages is ", params.stages,
                                                   "; start one process per stage"));
  }
  PB_ASSIGN_OR_RETURN(TokenDataset data, LoadTokenData(absl::GetFlag(FLAGS_data)));
  PB_ASSIGN_OR_RETURN(GptConfig model, ParseGptConfig(absl::GetFlag(FLAGS_model), data.vocab_size()));
  const int micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--micro_batch_size must be >= 1, got ", micro_batch_size));
  }
  PB_ASSIGN_OR_RETURN(std::vector<UnitRange> partition,
                      MakePartition(model, params.model_stages(), micro_batch_size));
  ExecutorOptions options;
  options.model = model;
  options.micro_batch_size = micro_batch_size;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.eval_every_batches = absl::GetFlag(FLAGS_eval_every);
  options.eval_tokens = absl::GetFlag(FLAGS_eval_tokens);
  options.optimizer.learning_rate = absl::GetFlag(FLAGS_lr);
  options.optimizer.warmup_steps = absl::GetFlag(FLAGS_warmup);
  options.optimizer.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  options.optimizer.min_lr_ratio = absl::GetFlag(FLAGS_min_lr_ratio);
  options.optimizer.total_steps = 0;  // each stage's cosine spans its own optimizer steps

  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) {
    file.open(ResolveOutputPath(absl::GetFlag(FLAGS_out)));
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("cannot write --out '", absl::GetFlag(FLAGS_out), "'"));
    }
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  if (distributed) return RunDistributed(*distributed, *schedule, partition, data, options, out);

  CostModel costs;
  if (!absl::GetFlag(FLAGS_costs).empty()) {
    PB_ASSIGN_OR_RETURN(costs, LoadCostModel(ResolvePath(absl::GetFlag(FLAGS_costs))));
  } else {
    PB_ASSIGN_OR_RETURN(costs, MeasureStageCosts(model, partition,
                                                 {.micro_batch_size = micro_batch_size}));
  }
  if (!absl::GetFlag(FLAGS_write_costs).empty()) {
    const std::string path = ResolveOutputPath(absl::GetFlag(FLAGS_write_costs));
    std::ofstream out(path);
    if (!out) return absl::NotFoundError(absl::StrCat("cannot write '", path, "'"));
    out << CostModelToJson(costs);
  }

  const auto start = std::chrono::steady_clock::now();
  PB_ASSIGN_OR_RETURN(
      ExecutorResult result,
      RunPipeline(*schedule, costs, partition, data, options, [&](const BatchRecord& r) {
        json line = {{"step", r.batch + 1},
                     {"train_loss", r.train_loss},
                     {"sim_time", r.simulated_time},
                     {"tokens", r.tokens}};
        if (r.validation_loss) line["val_loss"] = *r.validation_loss;
        out << line.dump() << "\n" << std::flush;
      }));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<int> bounds;
  for (int rank = 0; rank < params.stages; ++rank) bounds.push_back(schedule->DriftBound(rank));
  const std::int64_t tokens = result.batches.empty() ? 0 : result.batches.back().tokens;
  json summary = {{"schedule", schedule->name()},
                  {"stages", params.stages},
                  {"microbatches", params.microbatches},
                  {"accumulation", params.effective_accumulation()},
                  {"steps", params.batches},
                  {"model", model.Describe()},
                  {"data", data.name()},
                  {"final_val_loss", result.final_validation_loss},
                  {"sim_time", result.simulation.makespan},
                  {"wall_seconds", wall},
                  {"tokens", tokens},
                  {"tokens_per_second", wall > 0 ? tokens / wall : 0.0},
                  {"max_drift", result.max_drift},
                  {"drift_bound", bounds},
                  {"max_live_weight_versions", result.max_live_versions}};
  out << json{{"summary", summary}}.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Trains a GPT under a pipeline schedule in one process.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = pipebench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "train: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
