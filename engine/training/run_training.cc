#include "engine/training/run_training.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <fstream>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/dist/rank_runtime.h"
#include "engine/dist/run_report.h"
#include "engine/exec/cost_measurement.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "engine/platform/blas_info.h"
#include "engine/platform/device.h"
#include "engine/schedule/registry.h"
#include "engine/sim/cost_model.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nlohmann/json.hpp"

namespace pipebench {

using nlohmann::json;

namespace {

// A device error ("device 'cuda': ...") as the flag it came from.
absl::Status AsFlagError(const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("--", status.message()));
}

// `device`: where this process computes, so --partition=cost times the units there.
absl::StatusOr<std::vector<UnitRange>> MakePartition(const TrainConfig& config,
                                                     const StageModel& model, int model_stages,
                                                     const torch::Device& device) {
  const std::string& spec = config.partition;
  if (spec == "equal") return PartitionByLayers(model, model_stages);
  if (spec == "cost") {
    return PartitionByMeasuredTime(
        model, model_stages, {.micro_batch_size = config.micro_batch_size, .device = device});
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

absl::StatusOr<FaultInjection> ParseFault(const std::string& text) {
  FaultInjection fault;
  if (text.empty()) return fault;
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  const std::string where = parts.size() == 3 ? parts[2] : "";
  bool valid = parts.size() == 3 && absl::SimpleAtoi(parts[1], &fault.rank) && fault.rank >= 0;
  if (valid && parts[0] == "slow") {
    double seconds = 0;
    valid = absl::SimpleAtod(where, &seconds) && seconds >= 0;
    fault.kind = FaultInjection::Kind::kSlow;
    fault.delay = absl::Seconds(seconds);
  } else if (valid && (parts[0] == "exit" || parts[0] == "hang")) {
    fault.kind = parts[0] == "exit" ? FaultInjection::Kind::kExit : FaultInjection::Kind::kHang;
    if (where == "step") {
      fault.at_optimizer_step = true;
    } else if (where == "last") {
      fault.from_end = true;
    } else {
      valid = absl::SimpleAtoi(where, &fault.after_actions) && fault.after_actions >= 0;
    }
  } else {
    valid = false;
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--fault must be exit:RANK:WHEN or hang:RANK:WHEN (WHEN: an action count, 'step' for its "
        "first optimizer step, 'last' for its last action) or slow:RANK:SECONDS, got '",
        text, "'"));
  }
  fault.exit_process = true;
  return fault;
}

absl::StatusOr<std::optional<RunSummary>> TrainOneRank(
    const TrainConfig& config, const CommunicatorOptions& comm_options, const Schedule& schedule,
    const std::vector<UnitRange>& partition, const TokenDataset& data,
    const ExecutorOptions& options, std::ostream& out) {
  PB_ASSIGN_OR_RETURN(FaultInjection fault, ParseFault(config.fault));
  CommunicatorOptions on_device = comm_options;
  on_device.device = options.device;
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, Communicator::Connect(on_device));
  PB_ASSIGN_OR_RETURN(RankResult result,
                      RunRank(schedule, partition, data, options, *comm, fault));
  return ReportDistributedRun(*comm, schedule, result,
                              static_cast<std::int64_t>(options.micro_batch_size) *
                                  options.model->context(),
                              out, ResolveOutputPath(config.trace));
}

// A schedule that plans its order from costs, planned from `costs`; null for any other schedule.
absl::StatusOr<std::unique_ptr<Schedule>> PlannedFrom(const TrainConfig& config,
                                                      const Schedule& schedule,
                                                      const CostModel& costs) {
  if (!schedule.plans_from_costs()) return std::unique_ptr<Schedule>();
  return MakeSchedule(config.schedule, config.schedule_params(), costs);
}

absl::StatusOr<RunSummary> TrainInOneProcess(const TrainConfig& config, const Schedule& schedule,
                                             const std::vector<UnitRange>& partition,
                                             const TokenDataset& data,
                                             const ExecutorOptions& options, std::ostream& out) {
  CostModel costs;
  if (!config.costs.empty()) {
    PB_ASSIGN_OR_RETURN(costs, LoadCostModel(ResolvePath(config.costs)));
  } else {
    PB_ASSIGN_OR_RETURN(costs, MeasureStageCosts(*options.model, partition,
                                                 {.micro_batch_size = options.micro_batch_size,
                                                  .device = options.device}));
  }
  if (!config.write_costs.empty()) {
    PB_RETURN_IF_ERROR(WriteTextFile(ResolveOutputPath(config.write_costs),
                                     CostModelToJson(costs), "--write_costs"));
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> planned, PlannedFrom(config, schedule, costs));
  const Schedule& run = planned ? *planned : schedule;
  PB_ASSIGN_OR_RETURN(
      ExecutorResult result,
      RunPipeline(run, costs, partition, data, options, [&](const BatchRecord& r) {
        out << BatchRecordToJson(r).dump() << "\n" << std::flush;
      }));
  RunSummary summary = SummarizeExecutorRun(run, result);
  out << json{{"summary", RunSummaryToJson(summary)}}.dump() << "\n";
  return summary;
}

}  // namespace

ScheduleParams TrainConfig::schedule_params() const {
  ScheduleParams params;
  params.stages = stages;
  params.microbatches = microbatches;
  params.batches = batches;
  params.accumulation = accumulation;
  params.chunks = chunks;
  return params;
}

absl::Status ValidateTrainConfig(const TrainConfig& c) {
  constexpr double kAny = std::numeric_limits<double>::max();
  auto in_range = [](const char* flag, double value, double low, double high, bool low_open) {
    const bool ok = std::isfinite(value) && (low_open ? value > low : value >= low) &&
                    value <= high;
    if (ok) return absl::OkStatus();
    const bool bounded = high < std::numeric_limits<double>::max();
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " must be a finite number ", low_open ? "> " : ">= ", low,
        bounded ? absl::StrCat(" and <= ", high) : "", ", got ", value));
  };
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  for (absl::Status status : {
           in_range("lr", c.lr, 0, kAny, true),
           in_range("weight_decay", c.weight_decay, 0, kAny, false),
           in_range("min_lr_ratio", c.min_lr_ratio, 0, 1, false),
           in_range("slow_down", c.slow_down, 0, 1e6, true),
           in_range("warmup", c.warmup, 0, 1e9, false),
           in_range("batches", c.batches, 1, 1e9, false),
           in_range("eval_every", c.eval_every, 0, 1e9, false),
           in_range("eval_tokens", static_cast<double>(c.eval_tokens), 0, 1e12, false),
           in_range("timeout_seconds", c.timeout_seconds, 1, 1e7, false),
           in_range("threads", c.threads, 0, 4.0 * cores, false),
       }) {
    if (!status.ok()) return status;
  }
  // A's only step would be the drain after the last backward: a run that never trains.
  const double microbatches = static_cast<double>(c.microbatches) * c.batches;
  if (c.accumulation > microbatches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--accumulation=", c.accumulation, " is more than the ", microbatches,
        " micro-batches the run trains (--microbatches x --batches): no optimizer step would "
        "come before the end"));
  }
  return ParseTransport(c.transport).status();
}

absl::StatusOr<ExecutorOptions> ExecutorOptionsFor(const TrainConfig& config,
                                                   std::shared_ptr<const StageModel> model) {
  ExecutorOptions options;
  const absl::StatusOr<torch::Device> device = ParseDevice(config.device);
  if (!device.ok()) return AsFlagError(device.status());
  options.device = *device;
  options.model = std::move(model);
  options.micro_batch_size = config.micro_batch_size;
  options.seed = config.seed;
  options.eval_every_batches = config.eval_every;
  options.eval_tokens = config.eval_tokens;
  options.optimizer.learning_rate = config.lr;
  options.optimizer.warmup_steps = config.warmup;
  options.optimizer.weight_decay = config.weight_decay;
  options.optimizer.min_lr_ratio = config.min_lr_ratio;
  options.optimizer.total_steps = 0;  // each stage's cosine spans its own optimizer steps
  options.slow_down = config.slow_down;
  return options;
}

json BatchRecordToJson(const BatchRecord& r) {
  json line = {{"step", r.batch + 1},
               {"train_loss", r.train_loss},
               {"sim_time", r.simulated_time},
               {"tokens", r.tokens}};
  if (r.validation_loss) line["val_loss"] = *r.validation_loss;
  return line;
}

std::vector<std::string> TrainArgs(const TrainConfig& c) {
  std::vector<std::string> args = {
      absl::StrCat("--schedule=", c.schedule),
      absl::StrCat("--stages=", c.stages),
      absl::StrCat("--microbatches=", c.microbatches),
      absl::StrCat("--accumulation=", c.accumulation),
      absl::StrCat("--chunks=", c.chunks),
      absl::StrCat("--batches=", c.batches),
      absl::StrCat("--model=", c.model),
      absl::StrCat("--micro_batch_size=", c.micro_batch_size),
      absl::StrFormat("--lr=%.17g", c.lr),
      absl::StrCat("--warmup=", c.warmup),
      absl::StrFormat("--weight_decay=%.17g", c.weight_decay),
      absl::StrFormat("--min_lr_ratio=%.17g", c.min_lr_ratio),
      absl::StrCat("--seed=", c.seed),
      absl::StrCat("--data=", c.data),
      absl::StrCat("--partition=", c.partition),
      absl::StrCat("--costs=", c.costs),
      absl::StrCat("--write_costs=", c.write_costs),
      absl::StrCat("--eval_every=", c.eval_every),
      absl::StrCat("--eval_tokens=", c.eval_tokens),
      absl::StrCat("--threads=", c.threads),
      absl::StrCat("--device=", c.device),
      absl::StrCat("--timeout_seconds=", c.timeout_seconds),
      absl::StrCat("--trace=", c.trace),
      absl::StrCat("--transport=", c.transport),
      absl::StrCat("--fault=", c.fault),
      absl::StrFormat("--slow_down=%.17g", c.slow_down)};
  return args;
}

absl::StatusOr<std::optional<CommunicatorOptions>> DistributedFromEnvironment(
    const TrainConfig& config) {
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
  if (const char* name = std::getenv("GLOO_SOCKET_IFNAME")) options.gloo_interface = name;
  options.timeout = absl::Seconds(config.timeout_seconds);
  // Joining waits for the slowest rank to start; --timeout_seconds bounds that too.
  options.rendezvous_timeout = options.timeout;
  // The launcher names its job; torchrun names its own (--rdzv_id).
  for (const char* name : {"PIPEBENCH_RUN_ID", "TORCHELASTIC_RUN_ID"}) {
    if (const char* id = std::getenv(name); id != nullptr && *id != '\0') {
      options.run_id = id;
      break;
    }
  }
  PB_ASSIGN_OR_RETURN(options.transport, ParseTransport(config.transport));
  return std::optional<CommunicatorOptions>(options);
}

absl::StatusOr<std::optional<RunSummary>> RunTraining(
    const TrainConfig& config, const std::optional<CommunicatorOptions>& distributed,
    std::ostream& out) {
  PB_RETURN_IF_ERROR(ValidateTrainConfig(config));
  (void)WarnIfSlowBlas();
  if (config.threads > 0) SetComputeThreads(config.threads);
  const ScheduleParams params = config.schedule_params();
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule, MakeSchedule(config.schedule, params));
  // A GPU this build or machine lacks is an error now, before the data is read or a peer waits.
  const absl::StatusOr<torch::Device> device =
      ResolveDeviceSpec(config.device, distributed ? distributed->rank : 0);
  if (!device.ok()) return AsFlagError(device.status());
  if (distributed && distributed->world_size != params.stages) {
    return absl::InvalidArgumentError(absl::StrCat("WORLD_SIZE is ", distributed->world_size,
                                                   " but --stages is ", params.stages,
                                                   "; start one process per stage"));
  }
  if (distributed && config.partition == "cost") {
    // Each rank would time the units on its own, and timings that differ would cut the model
    // differently on different ranks: layers trained twice or not at all, with no error.
    return absl::InvalidArgumentError(
        "--partition=cost times the units on each rank apart, and ranks whose timings differ "
        "would cut the model differently; give the blocks per stage (e.g. 2,1,1) or equal");
  }
  if (config.micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--micro_batch_size must be >= 1, got ", config.micro_batch_size));
  }
  PB_ASSIGN_OR_RETURN(TokenDataset data, LoadTokenData(config.data));
  PB_ASSIGN_OR_RETURN(GptConfig gpt, ParseGptConfig(config.model, data.vocab_size()));
  if (device->is_cpu() && !distributed) {
    // One process holds every stage, with at most m micro-batches in flight. (A rank holds only
    // its own stages, which may fit where the whole model does not.)
    PB_RETURN_IF_ERROR(CheckTrainingFits(gpt, config.micro_batch_size, params.microbatches,
                                         PhysicalMemoryBytes()));
  }
  const auto model = std::make_shared<const GptModel>(std::move(gpt));
  PB_ASSIGN_OR_RETURN(std::vector<UnitRange> partition,
                      MakePartition(config, *model, params.model_stages(), *device));
  PB_ASSIGN_OR_RETURN(const ExecutorOptions options, ExecutorOptionsFor(config, model));
  if (distributed) {
    if (schedule->plans_from_costs()) {
      // Each rank plans the whole pipeline's order; from costs it measured alone, ranks would
      // plan different orders and wait on each other forever.
      if (config.costs.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            config.schedule, " plans its order from stage costs, and every rank must plan from "
            "the same ones: give each rank --costs=FILE (a one-process run writes one with "
            "--write_costs)"));
      }
      PB_ASSIGN_OR_RETURN(const CostModel costs, LoadCostModel(ResolvePath(config.costs)));
      PB_ASSIGN_OR_RETURN(schedule, PlannedFrom(config, *schedule, costs));
    }
    return TrainOneRank(config, *distributed, *schedule, partition, data, options, out);
  }
  PB_ASSIGN_OR_RETURN(RunSummary summary,
                      TrainInOneProcess(config, *schedule, partition, data, options, out));
  return std::optional<RunSummary>(std::move(summary));
}

}  // namespace pipebench
