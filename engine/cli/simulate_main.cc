// Simulates one pipeline schedule and prints its run summary (engine/runtime/run_summary.h), the
// schema train, launch and the harness write too.
//
//   bazel run //:simulate -- --schedule=paci --stages=8 --microbatches=8 --batches=16
//   bazel run //:simulate -- --schedule=zb_h1 --stages=4 --microbatches=8 --format=text
//   bazel run //:simulate -- --schedule_file=my_schedule.txt --trace=/tmp/trace.json
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/custom_schedule.h"
#include "engine/schedule/registry.h"
#include "engine/sim/cost_model.h"
#include "engine/sim/report.h"
#include "engine/sim/simulator.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

ABSL_FLAG(std::string, schedule, "1f1b_flush", "Registered schedule name (see --list).");
ABSL_FLAG(
    std::string, schedule_file, "",
    "Run a hand-written schedule from this file instead (engine/schedule/custom_schedule.h).");
ABSL_FLAG(bool, list, false, "Print the registered schedules and exit.");
ABSL_FLAG(bool, accepting, false,
          "With --list: only the schedules that take --stages, --microbatches, --batches, "
          "--accumulation and --chunks (each schedule's own factory decides).");
ABSL_FLAG(int, stages, 4, "Pipeline ranks p.");
ABSL_FLAG(int, microbatches, 8, "Micro-batches per mini-batch m.");
ABSL_FLAG(int, batches, 1, "Mini-batches N.");
ABSL_FLAG(int, accumulation, 0, "PACI's backwards per optimizer step a (0: equal to m).");
ABSL_FLAG(int, max_pending_backward, 0,
          "Schedules that plan from costs (zb_1p, zb_2p): the most micro-batches a rank holds "
          "between a forward and its weight gradient (0: the schedule's own, p or 2p).");
ABSL_FLAG(int, chunks, 1,
          "Model stages per rank v (schedules that hold more than one: --list --accepting "
          "--chunks=v).");
ABSL_FLAG(double, forward_cost, 1.0, "Forward time per micro-batch per model stage.");
ABSL_FLAG(double, backward_input_cost, 1.0,
          "Input-gradient time per micro-batch per model stage; an unsplit backward costs "
          "--backward_input_cost + --backward_weight_cost.");
ABSL_FLAG(double, backward_weight_cost, 1.0,
          "Weight-gradient time per micro-batch per model stage.");
ABSL_FLAG(double, optimizer_step_cost, 0.0, "Optimizer step time per model stage.");
ABSL_FLAG(double, p2p_latency, 0.0, "Point-to-point latency per message.");
ABSL_FLAG(double, p2p_bandwidth, 0.0,
          "Point-to-point bandwidth in bytes per time unit (0: unlimited).");
ABSL_FLAG(double, activation_bytes, 0.0, "Bytes sent between stages per micro-batch.");
ABSL_FLAG(int64_t, parameter_bytes, 0, "Parameter bytes per model stage (memory model).");
ABSL_FLAG(int64_t, optimizer_state_bytes, 0, "Optimizer-state bytes per model stage.");
ABSL_FLAG(int64_t, activation_memory_bytes, 0,
          "Activation bytes held per in-flight micro-batch per model stage.");
ABSL_FLAG(std::string, costs, "",
          "JSON cost file (engine/sim/cost_model.h); replaces every cost and memory flag.");
ABSL_FLAG(std::string, trace, "", "Write a Chrome/Perfetto trace of the timeline here.");
ABSL_FLAG(std::string, format, "json",
          "json: one JSON object; text: summary plus a timeline grid.");

namespace pipebench {
namespace {

absl::Status NonNegative(const char* flag, double value) {
  if (!(value >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be >= 0, got ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<CostModel> CostsFromFlags() {
  if (!absl::GetFlag(FLAGS_costs).empty()) {
    return LoadCostModel(ResolvePath(absl::GetFlag(FLAGS_costs)));
  }
  for (const auto& [flag, value] :
       {std::pair<const char*, double>{"forward_cost", absl::GetFlag(FLAGS_forward_cost)},
        {"backward_input_cost", absl::GetFlag(FLAGS_backward_input_cost)},
        {"backward_weight_cost", absl::GetFlag(FLAGS_backward_weight_cost)},
        {"optimizer_step_cost", absl::GetFlag(FLAGS_optimizer_step_cost)},
        {"p2p_latency", absl::GetFlag(FLAGS_p2p_latency)},
        {"p2p_bandwidth", absl::GetFlag(FLAGS_p2p_bandwidth)},
        {"activation_bytes", absl::GetFlag(FLAGS_activation_bytes)},
        {"parameter_bytes", static_cast<double>(absl::GetFlag(FLAGS_parameter_bytes))},
        {"optimizer_state_bytes", static_cast<double>(absl::GetFlag(FLAGS_optimizer_state_bytes))},
        {"activation_memory_bytes",
         static_cast<double>(absl::GetFlag(FLAGS_activation_memory_bytes))}}) {
    PB_RETURN_IF_ERROR(NonNegative(flag, value));
  }
  CostModel costs;
  costs.stages = {{absl::GetFlag(FLAGS_forward_cost), absl::GetFlag(FLAGS_backward_input_cost),
                   absl::GetFlag(FLAGS_backward_weight_cost),
                   absl::GetFlag(FLAGS_optimizer_step_cost),
                   absl::GetFlag(FLAGS_activation_bytes)}};
  costs.memory = {{absl::GetFlag(FLAGS_parameter_bytes), absl::GetFlag(FLAGS_optimizer_state_bytes),
                   absl::GetFlag(FLAGS_activation_memory_bytes)}};
  costs.p2p_latency = absl::GetFlag(FLAGS_p2p_latency);
  costs.p2p_bandwidth = absl::GetFlag(FLAGS_p2p_bandwidth);
  return costs;
}

ScheduleParams ParamsFromFlags() {
  ScheduleParams params;
  params.stages = absl::GetFlag(FLAGS_stages);
  params.microbatches = absl::GetFlag(FLAGS_microbatches);
  params.batches = absl::GetFlag(FLAGS_batches);
  params.accumulation = absl::GetFlag(FLAGS_accumulation);
  params.chunks = absl::GetFlag(FLAGS_chunks);
  params.max_pending_backward = absl::GetFlag(FLAGS_max_pending_backward);
  return params;
}

// The schedule the flags name; one that plans from costs plans from `costs`.
absl::StatusOr<std::unique_ptr<Schedule>> ScheduleFromFlags(const CostModel& costs) {
  const std::string file = ResolvePath(absl::GetFlag(FLAGS_schedule_file));
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open --schedule_file '", file, "'"));
    std::stringstream text;
    text << in.rdbuf();
    return ParseCustomSchedule(text.str());
  }
  return MakeSchedule(absl::GetFlag(FLAGS_schedule), ParamsFromFlags(), costs);
}

std::string TextSummary(const SimulationResult& r) {
  std::string text = absl::StrCat(r.schedule, " ", DescribeParams(r.params), "\n", "makespan ",
                                  r.makespan, "  throughput ", r.throughput, " mb/unit  bubble ",
                                  r.bubble_fraction, "  max drift ", r.max_drift, "\n");
  absl::StrAppend(&text,
                  " rank  bubble  peak_inflight  weight_copies  max_drift/bound  "
                  "peak_memory_bytes\n");
  for (size_t s = 0; s < r.stages.size(); ++s) {
    const StageStats& st = r.stages[s];
    absl::StrAppend(&text, absl::StrFormat("%5d  %6.3f  %13d  %13d  %9d/%-5d  %17d\n", s,
                                           st.bubble_fraction, st.peak_inflight, st.weight_copies,
                                           st.max_drift, st.drift_bound, st.peak_memory_bytes));
  }
  return text;
}

absl::Status Run() {
  if (absl::GetFlag(FLAGS_list)) {
    std::vector<std::string> names = RegisteredSchedules();
    if (absl::GetFlag(FLAGS_accepting)) {
      const ScheduleParams params = ParamsFromFlags();
      names.erase(std::remove_if(names.begin(), names.end(),
                                 [&](const std::string& name) {
                                   return !MakeSchedule(name, params).ok();
                                 }),
                  names.end());
    }
    std::cout << absl::StrJoin(names, "\n") << "\n";
    return absl::OkStatus();
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "json" && format != "text") {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be json or text, got '", format, "'"));
  }
  PB_ASSIGN_OR_RETURN(CostModel costs, CostsFromFlags());
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule, ScheduleFromFlags(costs));
  const std::string trace = ResolveOutputPath(absl::GetFlag(FLAGS_trace));
  SimulationOptions options;
  options.record_timeline = !trace.empty() || format == "text";
  PB_ASSIGN_OR_RETURN(SimulationResult result, Simulate(*schedule, costs, options));
  PB_RETURN_IF_ERROR(RequirePositiveMakespan(result));
  if (!trace.empty()) PB_RETURN_IF_ERROR(WriteChromeTrace(result, trace));
  if (format == "json") {
    std::cout << RunSummaryToJson(SummarizeSimulation(result, *schedule)).dump() << "\n";
  } else {
    std::cout << TextSummary(result) << "\n" << TimelineGrid(result);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "simulate", "Simulates a pipeline schedule on a cost model.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
