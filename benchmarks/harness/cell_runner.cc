#include "benchmarks/harness/cell_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "benchmarks/harness/cell_params.h"
#include "benchmarks/harness/launched_run.h"
#include "benchmarks/harness/progress.h"
#include "engine/exec/cost_measurement.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/partition.h"
#include "engine/platform/device.h"
#include "engine/schedule/registry.h"
#include "engine/runtime/run_summary.h"
#include "engine/sim/report.h"
#include "engine/sim/simulator.h"
#include "engine/training/run_training.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nas/entangled/supernet_cost.h"
#include "nas/pipeline/pipeline_search.h"
#include "nas/search/search_and_evaluate.h"

namespace pipebench {
namespace {

using nlohmann::json;

CostModel SlowedDown(CostModel costs, double factor) {
  for (StageCost& c : costs.stages) {
    c.forward *= factor;
    c.backward_input *= factor;
    c.backward_weight *= factor;
    c.optimizer_step *= factor;
  }
  return costs;
}

absl::StatusOr<TokenDataset> DataOf(const std::string& data, const CellInputs& inputs) {
  return LoadTokenData(inputs.data_path.empty() ? data : inputs.data_path);
}

absl::StatusOr<json> RunCosts(const CostsCellParams& cell, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.data, inputs));
  PB_ASSIGN_OR_RETURN(GptConfig gpt, ParseGptConfig(cell.model, data.vocab_size()));
  const GptModel model(std::move(gpt));
  MeasurementOptions options;
  options.micro_batch_size = cell.micro_batch_size;
  options.repeats = kHarnessMeasurementRepeats;
  PB_ASSIGN_OR_RETURN(options.device, ParseDevice(cell.device));
  std::vector<UnitRange> partition;
  if (cell.balance_by_time) {
    PB_ASSIGN_OR_RETURN(partition, PartitionByMeasuredTime(model, cell.model_stages, options));
  } else {
    PB_ASSIGN_OR_RETURN(partition, PartitionByLayers(model, cell.model_stages));
  }
  PB_ASSIGN_OR_RETURN(CostModel costs, MeasureStageCosts(model, partition, options));
  return json{{"costs", json::parse(CostModelToJson(costs))},
              {"partition", PartitionToJson(partition)}};
}

absl::StatusOr<json> RunSimulation(const SimulateCellParams& cell, const CellInputs& inputs) {
  CostModel costs;
  std::optional<std::int64_t> tokens_per_microbatch;
  if (cell.inline_costs) {
    costs = *cell.inline_costs;
  } else {
    costs = *inputs.costs;
    costs.p2p_latency = cell.link_latency_seconds;
    costs.p2p_bandwidth = cell.link_bandwidth_bytes_per_second;
  }
  if (!cell.model.empty()) {
    // The vocabulary does not change the context; any size parses the spec.
    PB_ASSIGN_OR_RETURN(GptConfig model, ParseGptConfig(cell.model, /*vocab_size=*/65));
    tokens_per_microbatch = static_cast<std::int64_t>(cell.micro_batch_size) * model.context;
  }
  costs = SlowedDown(std::move(costs), inputs.slow_down);
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule,
                      MakeSchedule(cell.schedule, cell.schedule_params, costs));
  PB_ASSIGN_OR_RETURN(SimulationResult r,
                      Simulate(*schedule, costs, {.check_in = inputs.check_in}));
  PB_RETURN_IF_ERROR(RequirePositiveMakespan(r));
  return json{{"summary",
               RunSummaryToJson(SummarizeSimulation(r, *schedule, tokens_per_microbatch))}};
}

// Simulated seconds `schedule` takes for `batches` mini-batches of `run`'s (p, m, a, v).
absl::StatusOr<double> Makespan(const std::string& schedule, TrainConfig run, int batches,
                                const CostModel& costs) {
  run.batches = batches;
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> made,
                      MakeSchedule(schedule, run.schedule_params(), costs));
  PB_ASSIGN_OR_RETURN(SimulationResult r, Simulate(*made, costs));
  return r.makespan;
}

// A schedule's simulated time for its first mini-batch (pipeline fill included) and for each
// one after it in steady state.
struct BatchTimes {
  double first = 0;
  double steady = 0;
};

absl::StatusOr<BatchTimes> BatchTimesOf(const std::string& schedule, const TrainConfig& run,
                                        const CostModel& costs) {
  BatchTimes times;
  PB_ASSIGN_OR_RETURN(times.first, Makespan(schedule, run, 1, costs));
  PB_ASSIGN_OR_RETURN(const double four, Makespan(schedule, run, 4, costs));
  PB_ASSIGN_OR_RETURN(const double eight, Makespan(schedule, run, 8, costs));
  times.steady = (eight - four) / 4;
  return times;
}

// A budget's mini-batch count, computed in doubles: a budget of 1e308 s is an error saying so, not
// an int that wrapped.
absl::StatusOr<int> BudgetBatches(double batches, double budget, const std::string& variant,
                                  const BatchTimes& times) {
  constexpr double kMaxBudgetBatches = 1e6;
  if (!(batches <= kMaxBudgetBatches)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget_seconds: ", budget, " simulated seconds is ", batches, " mini-batches of ",
        variant, " (", times.steady, " s each in steady state); at most ", kMaxBudgetBatches,
        " are allowed"));
  }
  return static_cast<int>(batches);
}

// How many mini-batches take the cell's schedule past `budget` simulated seconds on `costs`,
// with a margin of three.
absl::StatusOr<int> BatchesForBudget(const ExecutedCellParams& cell, const CostModel& costs,
                                     double budget) {
  PB_ASSIGN_OR_RETURN(const BatchTimes times, BatchTimesOf(cell.run.schedule, cell.run, costs));
  if (budget < times.first) {
    return absl::InvalidArgumentError(absl::StrCat(
        "budget_seconds: ", budget, " simulated seconds is less than one mini-batch of ",
        cell.variant, " (", times.first, " s on the measured costs)"));
  }
  return BudgetBatches(1 + std::ceil((budget - times.first) / times.steady) + 3, budget,
                       cell.variant, times);
}

// The cell's (p, m) as 1F1B-flush, the reference a budget group is timed by, runs it.
TrainConfig FlushRunOf(TrainConfig run) {
  run.chunks = 1;
  return run;
}

// The cosine horizon, in mini-batches, that every schedule of a budget group shares: the
// mini-batches 1F1B-flush (the group's reference) completes within the budget.
absl::StatusOr<int> SharedHorizon(const ExecutedCellParams& cell, const CostModel& costs,
                                  double budget) {
  if (cell.budget_flush_steps > 0) return cell.budget_flush_steps;
  PB_ASSIGN_OR_RETURN(const BatchTimes times,
                      BatchTimesOf("1f1b_flush", FlushRunOf(cell.run), costs));
  if (budget < times.first) return 1;
  return BudgetBatches(1 + std::floor((budget - times.first) / times.steady), budget,
                       "1f1b_flush", times);
}

absl::StatusOr<json> RunExecutor(const ExecutedCellParams& cell, const CellInputs& inputs,
                                 bool training) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.run.data, inputs));
  PB_ASSIGN_OR_RETURN(GptConfig gpt, ParseGptConfig(cell.run.model, data.vocab_size()));
  const auto model = std::make_shared<const GptModel>(std::move(gpt));
  const CostModel costs = SlowedDown(*inputs.costs, inputs.slow_down);
  double budget = cell.budget_seconds;
  if (cell.budget_flush_steps > 0) {
    // The time 1F1B-flush takes for that many mini-batches on the unslowed costs: the same for
    // every schedule of the group, and as many flush steps on any machine.
    PB_ASSIGN_OR_RETURN(budget, Makespan("1f1b_flush", FlushRunOf(cell.run),
                                         cell.budget_flush_steps, *inputs.costs));
  }
  TrainConfig run = cell.run;
  // Executor cells measure wall-clock, so --slow_down slows their real actions as well; training
  // cells run on the simulated clock, which the slowed costs already stretch.
  if (!training) run.slow_down = inputs.slow_down;
  int horizon_batches = 0;  // steps: each run's own length
  if (budget > 0) {
    PB_ASSIGN_OR_RETURN(run.batches, BatchesForBudget(cell, costs, budget));
    // Flush's own batches, on the unslowed costs: --slow_down of this cell's schedule must not
    // move the horizon the group shares.
    PB_ASSIGN_OR_RETURN(horizon_batches, SharedHorizon(cell, *inputs.costs, budget));
  }
  const ScheduleParams params = run.schedule_params();
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule, MakeSchedule(run.schedule, params, costs));
  std::vector<UnitRange> partition = inputs.partition;
  if (partition.empty()) {
    PB_ASSIGN_OR_RETURN(partition, PartitionByLayers(*model, params.model_stages()));
  }
  PB_ASSIGN_OR_RETURN(ExecutorOptions executor_options, ExecutorOptionsFor(run, model));
  executor_options.budget_seconds = budget;
  executor_options.horizon_batches = horizon_batches;
  json curve = json::array();
  const auto start = Clock::now();
  PB_ASSIGN_OR_RETURN(
      ExecutorResult result,
      RunPipeline(*schedule, costs, partition, data, executor_options,
                  [&](const BatchRecord& r) {
                    json point = BatchRecordToJson(r);
                    point["wall_time"] = SecondsSince(start);
                    curve.push_back(point);
                    if (inputs.report_steps) inputs.report_steps(r.batch + 1, params.batches);
                  }));
  if (budget > 0 && !result.budget_reached) {
    return absl::InternalError(absl::StrCat("the run's ", run.batches, " mini-batches ended "
                                            "before budget_seconds ", budget,
                                            " on the simulated clock"));
  }
  const RunSummary summary = SummarizeExecutorRun(*schedule, result);
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

absl::StatusOr<json> RunDistributed(const ExecutedCellParams& cell, const CellInputs& inputs) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && static_cast<unsigned>(cell.run.stages) > cores) {
    return absl::FailedPreconditionError(absl::StrCat("a distributed run needs one core per "
                                                      "stage: p=", cell.run.stages, " on ",
                                                      cores, " cores"));
  }
  TrainConfig run = cell.run;
  run.threads = 1;
  run.slow_down = inputs.slow_down;  // the ranks' real actions: what the cell measures
  if (!inputs.data_path.empty()) run.data = inputs.data_path;
  PB_ASSIGN_OR_RETURN(RunSummary summary, RunLaunched(inputs.train_binary, run.stages, run));
  return json{{"summary", RunSummaryToJson(summary)}};
}

absl::StatusOr<json> RunNas(const NasCellParams& cell, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.data, inputs));
  PB_ASSIGN_OR_RETURN(SearchSpace space, LoadSearchSpace(cell.space, data.vocab_size()));
  const int steps = cell.job.search.steps;
  // The supernet's loss against wall-clock time, every 1% of the run (records stay small).
  json curve = json::array();
  const int every = std::max(1, steps / 100);
  const auto start = Clock::now();
  PB_ASSIGN_OR_RETURN(json record,
                      SearchAndEvaluate(space, data, cell.job, [&](const SearchStep& s) {
                        if (s.step % every == 0 || s.step == steps) {
                          curve.push_back({{"step", s.step},
                                           {"time", SecondsSince(start)},
                                           {"weight_loss", s.weight_loss},
                                           {"arch_loss", s.arch_loss}});
                        }
                        if (inputs.report_steps) inputs.report_steps(s.step, steps);
                      }));
  record["supernet_bytes"] = record["supernet_parameters"].get<std::int64_t>() * 4;
  record["curve"] = curve;
  return record;
}

absl::StatusOr<json> RunNasCost(const NasCostCellParams& cell, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.data, inputs));
  PB_ASSIGN_OR_RETURN(SearchSpace space, LoadSearchSpace(cell.space, data.vocab_size()));
  PB_ASSIGN_OR_RETURN(const SupernetCost cost, MeasureSupernetCost(space, cell.cost));
  return json{{"parameters", cost.parameters},
              {"parameter_bytes", cost.parameter_bytes},
              {"optimizer_state_bytes", cost.optimizer_state_bytes},
              {"step_seconds", cost.step_seconds},
              {"step_working_bytes", cost.step_working_bytes},
              {"peak_rss_bytes", cost.peak_rss_bytes},
              {"one_hot_max_abs_diff", cost.one_hot_max_abs_diff}};
}

absl::StatusOr<json> RunNasPipelineCosts(const NasPipelineCostsCellParams& cell,
                                        const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.data, inputs));
  PB_ASSIGN_OR_RETURN(SearchSpace space, LoadSearchSpace(cell.space, data.vocab_size()));
  PB_ASSIGN_OR_RETURN(const SupernetStageCosts measured,
                      MeasureSupernetStageCosts(space, cell.search, cell.model_stages));
  return json{{"costs", json::parse(CostModelToJson(measured.costs))},
              {"partition", PartitionToJson(measured.partition)}};
}

absl::StatusOr<json> RunNasPipeline(NasPipelineCellParams cell, const CellInputs& inputs) {
  PB_ASSIGN_OR_RETURN(TokenDataset data, DataOf(cell.data, inputs));
  PB_ASSIGN_OR_RETURN(SearchSpace space, LoadSearchSpace(cell.space, data.vocab_size()));
  cell.job.search.stage_costs =
      SupernetStageCosts{inputs.partition, SlowedDown(*inputs.costs, inputs.slow_down)};
  const std::int64_t batches = 2 * static_cast<std::int64_t>(cell.job.search.steps);
  PB_ASSIGN_OR_RETURN(json record,
                      PipelineSearchAndEvaluate(space, data, cell.job, [&](const BatchRecord& r) {
                        if (inputs.report_steps) inputs.report_steps(r.batch + 1, batches);
                      }));
  record["partition"] = PartitionToJson(inputs.partition);
  return record;
}

}  // namespace

json PartitionToJson(const std::vector<UnitRange>& partition) {
  json ranges = json::array();
  for (const UnitRange& r : partition) ranges.push_back({r.begin, r.end});
  return ranges;
}

absl::StatusOr<std::vector<UnitRange>> PartitionFromRecord(const json& record) {
  std::vector<UnitRange> partition;
  if (!record.is_object() || !record.contains("partition")) return partition;
  const json& ranges = record["partition"];
  if (!ranges.is_array()) return absl::InvalidArgumentError("partition is not a list");
  for (const json& r : ranges) {
    constexpr std::int64_t kMaxUnit = 1 << 30;
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() ||
        !r[1].is_number_integer() || r[0].get<std::int64_t>() < 0 ||
        r[1].get<std::int64_t>() < r[0].get<std::int64_t>() || r[1].get<std::int64_t>() > kMaxUnit) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition entry ", r.dump(), " is not a [begin, end] unit range"));
    }
    partition.push_back({r[0].get<int>(), r[1].get<int>()});
  }
  return partition;
}

absl::StatusOr<CostModel> CostsFromRecord(const json& record) {
  if (!record.is_object() || !record.contains("costs")) {
    return absl::InvalidArgumentError("record has no costs");
  }
  return ParseCostModelJson(record["costs"].dump());
}

absl::StatusOr<json> RunCell(const Cell& cell, const CellInputs& inputs) {
  if (!cell.costs_key.empty() && !inputs.costs) {
    return absl::FailedPreconditionError("its costs cell did not finish");
  }
  try {
    if (cell.kind == kCostsCell) {
      PB_ASSIGN_OR_RETURN(const CostsCellParams params, CostsCellOf(cell.params));
      return RunCosts(params, inputs);
    }
    if (cell.kind == kSimulateCell) {
      PB_ASSIGN_OR_RETURN(const SimulateCellParams params, SimulateCellOf(cell.params));
      return RunSimulation(params, inputs);
    }
    if (cell.kind == kExecutorCell || cell.kind == kTrainingCell ||
        cell.kind == kDistributedCell) {
      PB_ASSIGN_OR_RETURN(const ExecutedCellParams params,
                          ExecutedCellOf(cell.kind, cell.params));
      if (cell.kind == kDistributedCell) return RunDistributed(params, inputs);
      return RunExecutor(params, inputs, cell.kind == kTrainingCell);
    }
    if (cell.kind == kNasCell) {
      PB_ASSIGN_OR_RETURN(const NasCellParams params, NasCellOf(cell.params));
      return RunNas(params, inputs);
    }
    if (cell.kind == kNasCostCell) {
      PB_ASSIGN_OR_RETURN(const NasCostCellParams params, NasCostCellOf(cell.params));
      return RunNasCost(params, inputs);
    }
    if (cell.kind == kNasPipelineCostsCell) {
      PB_ASSIGN_OR_RETURN(const NasPipelineCostsCellParams params,
                          NasPipelineCostsCellOf(cell.params));
      return RunNasPipelineCosts(params, inputs);
    }
    if (cell.kind == kNasPipelineCell) {
      PB_ASSIGN_OR_RETURN(NasPipelineCellParams params, NasPipelineCellOf(cell.params));
      return RunNasPipeline(std::move(params), inputs);
    }
  } catch (const std::exception& e) {
    // LibTorch reports by exception; this is the harness's boundary.
    return absl::InternalError(absl::StrCat(cell.kind, " cell: ", e.what()));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown cell kind '", cell.kind, "'"));
}

}  // namespace pipebench
