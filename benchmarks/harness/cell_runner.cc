#include "benchmarks/harness/cell_runner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "benchmarks/harness/launched_run.h"
#include "benchmarks/harness/progress.h"
#include "engine/exec/cost_measurement.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/partition.h"
#include "engine/schedule/registry.h"
#include "engine/runtime/run_summary.h"
#include "engine/sim/report.h"
#include "engine/sim/simulator.h"
#include "engine/training/run_training.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nas/search/retrain.h"
#include "nas/search/search.h"

namespace pipebench {
namespace {

using nlohmann::json;
ScheduleParams ParamsOf(const json& p, int batches) {
  ScheduleParams params;
  params.stages = p["stages"];
  params.microbatches = p["microbatches"];
  params.accumulation = p["accumulation"];
  params.chunks = p["chunks"];
  params.batches = batches;
  return params;
}

CostModel SlowedDown(CostModel costs, double factor) {
  for (StageCost& c : costs.stages) {
    c.forward *= factor;
    c.backward_input *= factor;
    c.backward_weight *= factor;
    c.optimizer_step *= factor;
  }
  return costs;
}

absl::StatusOr<TokenDataset> DataOf(const json& p, const CellInputs& inputs) {
  return LoadTokenData(inputs.data_path.empty() ? p["data"].get<std::string>() : inputs.data_path);
}

absl::StatusOr<GptConfig> ModelOf(const json& p, const TokenDataset* data) {
  return ParseGptConfig(p["model"].get<std::string>(), data == nullptr ? 65 : data->vocab_size());
}

absl::StatusOr<json> RunCosts(const json& p, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(p, inputs));
  PB_ASSIGN_OR_RETURN(GptConfig model, ModelOf(p, &data));
  MeasurementOptions options;
  options.micro_batch_size = p["micro_batch_size"];
  options.repeats = 25;
  const int stages = p["model_stages"];
  std::vector<UnitRange> partition;
  if (p.value("partition", "layers") == "time") {
    PB_ASSIGN_OR_RETURN(partition, PartitionByMeasuredTime(model, stages, options));
  } else {
    PB_ASSIGN_OR_RETURN(partition, PartitionByLayers(model, stages));
  }
  PB_ASSIGN_OR_RETURN(CostModel costs, MeasureStageCosts(model, partition, options));
  return json{{"costs", json::parse(CostModelToJson(costs))},
              {"partition", PartitionToJson(partition)}};
}

absl::StatusOr<json> RunSimulation(const json& p, const CellInputs& inputs) {
  CostModel costs;
  std::int64_t tokens_per_microbatch = 0;
  if (p.contains("costs")) {
    PB_ASSIGN_OR_RETURN(costs, ParseCostModelJson(p["costs"].dump()));
  } else {
    costs = *inputs.costs;
    costs.p2p_latency = p["link"]["latency_seconds"];
    costs.p2p_bandwidth = p["link"]["bandwidth_bytes_per_second"];
    PB_ASSIGN_OR_RETURN(GptConfig model, ModelOf(p, nullptr));
    tokens_per_microbatch = static_cast<std::int64_t>(p["micro_batch_size"].get<int>()) *
                            model.context;
  }
  costs = SlowedDown(std::move(costs), inputs.slow_down);
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule,
                      MakeSchedule(p["schedule"], ParamsOf(p, p["batches"])));
  PB_ASSIGN_OR_RETURN(SimulationResult r, Simulate(*schedule, costs));
  std::optional<std::int64_t> tokens;
  if (tokens_per_microbatch > 0) tokens = tokens_per_microbatch;
  return json{{"summary", RunSummaryToJson(SummarizeSimulation(r, *schedule, tokens))}};
}

// Options for the single-process executor from a training or executor cell.
ExecutorOptions ExecutorOptionsOf(const json& p, const GptConfig& model) {
  ExecutorOptions options;
  options.model = model;
  options.micro_batch_size = p["micro_batch_size"];
  options.seed = p["seed"].get<std::uint64_t>();
  options.eval_every_batches = p.value("eval_every", 0);
  options.eval_tokens = p.value("eval_tokens", 8192);
  options.optimizer.learning_rate = p.value("lr", 1e-3);
  options.optimizer.warmup_steps = p.value("warmup", 10);
  options.optimizer.total_steps = 0;
  return options;
}

// Simulated seconds `schedule` takes for `batches` mini-batches of cell `p`'s (p, m, a, v).
absl::StatusOr<double> Makespan(const std::string& schedule, const json& p, int batches,
                                const CostModel& costs) {
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> made,
                      MakeSchedule(schedule, ParamsOf(p, batches)));
  PB_ASSIGN_OR_RETURN(SimulationResult r, Simulate(*made, costs));
  return r.makespan;
}

// A schedule's simulated time for its first mini-batch (pipeline fill included) and for each
// one after it in steady state.
struct BatchTimes {
  double first = 0;
  double steady = 0;
};

absl::StatusOr<BatchTimes> BatchTimesOf(const std::string& schedule, const json& p,
                                        const CostModel& costs) {
  BatchTimes times;
  PB_ASSIGN_OR_RETURN(times.first, Makespan(schedule, p, 1, costs));
  PB_ASSIGN_OR_RETURN(const double four, Makespan(schedule, p, 4, costs));
  PB_ASSIGN_OR_RETURN(const double eight, Makespan(schedule, p, 8, costs));
  times.steady = (eight - four) / 4;
  return times;
}

// How many mini-batches take the cell's schedule past `budget` simulated seconds on `costs`,
// with a margin of three.
absl::StatusOr<int> BatchesForBudget(const json& p, const CostModel& costs, double budget) {
  PB_ASSIGN_OR_RETURN(const BatchTimes times, BatchTimesOf(p["schedule"], p, costs));
  if (budget < times.first) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget_seconds: ", budget, " simulated seconds is less than one mini-batch of ",
        p["variant"].get<std::string>(), " (", times.first, " s on the measured costs)"));
  }
  return 1 + static_cast<int>(std::ceil((budget - times.first) / times.steady)) + 3;
}

// Cell `p`'s (p, m) as 1F1B-flush, the reference a budget group is timed by, runs it.
json FlushCellOf(const json& p) {
  json flush = p;
  flush["chunks"] = 1;
  return flush;
}

// The cosine horizon, in mini-batches, that every schedule of a budget group shares: the
// mini-batches 1F1B-flush (the group's reference) completes within the budget.
absl::StatusOr<int> SharedHorizon(const json& p, const CostModel& costs, double budget) {
  if (p.contains("budget_flush_steps")) return p["budget_flush_steps"].get<int>();
  PB_ASSIGN_OR_RETURN(const BatchTimes times, BatchTimesOf("1f1b_flush", FlushCellOf(p), costs));
  if (budget < times.first) return 1;
  return 1 + static_cast<int>(std::floor((budget - times.first) / times.steady));
}

absl::StatusOr<json> RunExecutor(const json& p, const CellInputs& inputs, bool training) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(p, inputs));
  PB_ASSIGN_OR_RETURN(GptConfig model, ModelOf(p, &data));
  const CostModel costs = SlowedDown(*inputs.costs, inputs.slow_down);
  double budget = p.value("budget_seconds", 0.0);
  if (p.contains("budget_flush_steps")) {
    // The time 1F1B-flush takes for that many mini-batches on the unslowed costs: the same for
    // every schedule of the group, and as many flush steps on any machine.
    PB_ASSIGN_OR_RETURN(budget, Makespan("1f1b_flush", FlushCellOf(p), p["budget_flush_steps"],
                                         *inputs.costs));
  }
  int batches = p.value("steps", 0);
  int horizon_batches = 0;  // steps: each run's own length
  if (budget > 0) {
    PB_ASSIGN_OR_RETURN(batches, BatchesForBudget(p, costs, budget));
    // Flush's own batches, on the unslowed costs: --slow_down of this cell's schedule must not
    // move the horizon the group shares.
    PB_ASSIGN_OR_RETURN(horizon_batches, SharedHorizon(p, *inputs.costs, budget));
  }
  const ScheduleParams params = ParamsOf(p, batches);
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule, MakeSchedule(p["schedule"], params));
  std::vector<UnitRange> partition = inputs.partition;
  if (partition.empty()) {
    PB_ASSIGN_OR_RETURN(partition, PartitionByLayers(model, params.model_stages()));
  }
  ExecutorOptions executor_options = ExecutorOptionsOf(p, model);
  executor_options.budget_seconds = budget;
  executor_options.horizon_batches = horizon_batches;
  json curve = json::array();
  const auto start = Clock::now();
  PB_ASSIGN_OR_RETURN(
      ExecutorResult result,
      RunPipeline(*schedule, costs, partition, data, executor_options,
                  [&](const BatchRecord& r) {
                    json point = {{"step", r.batch + 1},
                                  {"sim_time", r.simulated_time},
                                  {"wall_time", SecondsSince(start)},
                                  {"train_loss", r.train_loss},
                                  {"tokens", r.tokens}};
                    if (r.validation_loss) point["val_loss"] = *r.validation_loss;
                    curve.push_back(point);
                    if (inputs.report_steps) inputs.report_steps(r.batch + 1, params.batches);
                  }));
  if (budget > 0 && !result.budget_reached) {
    return absl::InternalError(absl::StrCat("the run's ", batches, " mini-batches ended before "
                                            "budget_seconds ", budget, " on the simulated clock"));
  }
  const RunSummary summary = SummarizeExecutorRun(*schedule, executor_options, result);
  json record = {{"summary", RunSummaryToJson(summary)}};
  if (horizon_batches > 0) record["horizon_batches"] = horizon_batches;
  if (training) {
    record["curve"] = curve;
    return record;
  }
  // Wall / costed compute: the replay's wall-clock against the measured compute the same actions
  // need back to back (unslowed costs: the executor really runs at the model's speed).
  double compute = 0;
  for (int s = 0; s < params.model_stages(); ++s) {
    const StageCost& c = inputs.costs->cost(s);
    compute += params.total_microbatches() * (c.forward + c.backward()) +
               result.simulation.stages[schedule->RankOfStage(s)].optimizer_steps *
                   c.optimizer_step;
  }
  record["compute_seconds"] = compute;
  record["overhead_ratio"] = compute > 0 ? summary.measured->seconds / compute : 0.0;
  return record;
}

absl::StatusOr<json> RunDistributed(const json& p, const CellInputs& inputs) {
  const int stages = p["stages"];
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && static_cast<unsigned>(stages) > cores) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a distributed run needs one core per stage: p=", stages, " on ", cores, " cores"));
  }
  TrainConfig config;
  config.threads = 1;
  config.data = inputs.data_path.empty() ? p["data"].get<std::string>() : inputs.data_path;
  config.schedule = p["schedule"];
  config.stages = stages;
  config.microbatches = p["microbatches"];
  config.accumulation = p["accumulation"];
  config.chunks = p["chunks"];
  config.batches = p["steps"];
  config.micro_batch_size = p["micro_batch_size"];
  config.seed = p["seed"].get<std::uint64_t>();
  config.model = p["model"];
  PB_ASSIGN_OR_RETURN(RunSummary summary, RunLaunched(inputs.train_binary, stages, config));
  return json{{"summary", RunSummaryToJson(summary)}};
}

absl::StatusOr<json> RunNas(const json& p, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(p, inputs));
  PB_ASSIGN_OR_RETURN(SearchSpace space,
                      LoadSearchSpace(p["space"].get<std::string>(), data.vocab_size()));
  SearchOptions options;
  PB_ASSIGN_OR_RETURN(options.optimizer, ParseSamplerKind(p["optimizer"]));
  options.storage =
      p["storage"] == "separate" ? WeightStorage::kSeparate : WeightStorage::kEntangled;
  options.steps = p["steps"];
  options.batch_size = p["batch_size"];
  options.seed = p["seed"].get<std::uint64_t>();
  options.weight_lr = p["weight_lr"];
  options.arch_lr = p["arch_lr"];
  json curve = json::array();
  const auto start = Clock::now();
  PB_ASSIGN_OR_RETURN(SearchResult result,
                      RunSearch(space, data, options, [&](const SearchStep& s) {
                        curve.push_back({{"step", s.step},
                                         {"time", SecondsSince(start)},
                                         {"weight_loss", s.weight_loss},
                                         {"arch_loss", s.arch_loss}});
                        if (inputs.report_steps) inputs.report_steps(s.step, options.steps);
                      }));
  json record = {{"architecture", result.derived_json},
                 {"derived_parameters", DerivedParameterCount(space, result.derived)},
                 {"supernet_parameters", result.supernet_parameters},
                 {"supernet_bytes", result.supernet_parameters * 4},
                 {"search_seconds", result.search_seconds},
                 {"curve", curve}};
  RetrainOptions retrain;
  retrain.steps = p["retrain_steps"];
  retrain.batch_size = options.batch_size;
  retrain.learning_rate = options.weight_lr;
  retrain.seed = options.seed;
  const DerivedEvaluation evaluation = EvaluateDerived(
      *result.derived_network, data, static_cast<int>(space.context), retrain);
  record["val_loss_inherited"] = evaluation.val_loss_inherited;
  if (evaluation.val_loss_retrained) {
    record["val_loss_retrained"] = *evaluation.val_loss_retrained;
  }
  return record;
}

}  // namespace

json PartitionToJson(const std::vector<UnitRange>& partition) {
  json ranges = json::array();
  for (const UnitRange& r : partition) ranges.push_back({r.begin, r.end});
  return ranges;
}

std::vector<UnitRange> PartitionFromRecord(const json& record) {
  std::vector<UnitRange> partition;
  if (record.contains("partition")) {
    for (const json& r : record["partition"]) partition.push_back({r[0], r[1]});
  }
  return partition;
}

absl::StatusOr<CostModel> CostsFromRecord(const json& record) {
  if (!record.contains("costs")) return absl::InvalidArgumentError("record has no costs");
  return ParseCostModelJson(record["costs"].dump());
}

absl::StatusOr<json> RunCell(const Cell& cell, const CellInputs& inputs) {
  if (!cell.costs_key.empty() && !inputs.costs) {
    return absl::FailedPreconditionError("its costs cell did not finish");
  }
  try {
    if (cell.kind == kCostsCell) return RunCosts(cell.params, inputs);
    if (cell.kind == kSimulateCell) return RunSimulation(cell.params, inputs);
    if (cell.kind == kExecutorCell) return RunExecutor(cell.params, inputs, false);
    if (cell.kind == kTrainingCell) return RunExecutor(cell.params, inputs, true);
    if (cell.kind == kDistributedCell) return RunDistributed(cell.params, inputs);
    if (cell.kind == kNasCell) return RunNas(cell.params, inputs);
  } catch (const std::exception& e) {
    // LibTorch and the JSON library report by exception; this is the harness's boundary.
    return absl::InternalError(absl::StrCat(cell.kind, " cell: ", e.what()));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown cell kind '", cell.kind, "'"));
}

}  // namespace pipebench
