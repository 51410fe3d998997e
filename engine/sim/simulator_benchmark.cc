// Simulator speed: simulated actions per second, and the 1024-stage x 4096-micro-batch 1F1B-flush
// run (targets: >= 30M actions/s on one core, the large run in under 1.5 s); and the planning time
// of the schedules that plan their order when made (target: under one second at p = 32, m = 96).
//
//   bazel run //engine/sim:simulator_benchmark
#include <string>

#include "benchmark/benchmark.h"
#include "engine/schedule/registry.h"
#include "engine/sim/simulator.h"

namespace pipebench {
namespace {

void RunSimulation(benchmark::State& state, const std::string& name, int stages,
                   int microbatches, int batches) {
  ScheduleParams params;
  params.stages = stages;
  params.microbatches = microbatches;
  params.batches = batches;
  auto schedule = MakeSchedule(name, params);
  if (!schedule.ok()) {
    state.SkipWithError(std::string(schedule.status().message()).c_str());
    return;
  }
  CostModel costs;
  costs.p2p_latency = 0.05;
  std::int64_t actions = 0;
  for (auto _ : state) {
    auto result = Simulate(**schedule, costs);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    actions += result->actions;
    benchmark::DoNotOptimize(result->makespan);
  }
  state.counters["actions/s"] = benchmark::Counter(static_cast<double>(actions),
                                                   benchmark::Counter::kIsRate);
}

void BM_Simulate(benchmark::State& state, const std::string& name) {
  RunSimulation(state, name, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                static_cast<int>(state.range(2)));
}

BENCHMARK_CAPTURE(BM_Simulate, flush, std::string("1f1b_flush"))
    ->Args({8, 32, 64})
    ->Args({64, 256, 4})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Simulate, paci, std::string("paci"))
    ->Args({8, 32, 64})
    ->Args({64, 256, 4})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Simulate, zb_h1, std::string("zb_h1"))
    ->Args({8, 32, 64})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Simulate, pipedream, std::string("pipedream"))
    ->Args({8, 32, 64})
    ->Unit(benchmark::kMillisecond);

// Making a schedule that plans: ZB-1p / ZB-2p run their cost-aware greedy over the (stage,
// micro-batch) graph (unequal F, B, W and a message latency, so the costs matter); V-Half / V-Min
// build their slot pattern, place the Ws and squeeze.
void BM_Plan(benchmark::State& state, const std::string& name, int chunks) {
  ScheduleParams params;
  params.stages = static_cast<int>(state.range(0));
  params.microbatches = static_cast<int>(state.range(1));
  params.chunks = chunks;
  CostModel costs;
  costs.stages = {{.forward = 1.0, .backward_input = 1.1, .backward_weight = 0.9}};
  costs.p2p_latency = 0.05;
  for (auto _ : state) {
    auto schedule = MakeSchedule(name, params, costs);
    if (!schedule.ok()) {
      state.SkipWithError(std::string(schedule.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(schedule->get());
  }
}

BENCHMARK_CAPTURE(BM_Plan, zb_1p, std::string("zb_1p"), 1)
    ->Args({32, 96})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Plan, zb_2p, std::string("zb_2p"), 1)
    ->Args({32, 96})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Plan, v_half, std::string("v_half"), 2)
    ->Args({32, 96})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Plan, v_min, std::string("v_min"), 2)
    ->Args({32, 96})
    ->Unit(benchmark::kMillisecond);

// The scale target: 1024 stages x 4096 micro-batches in one batch.
BENCHMARK_CAPTURE(BM_Simulate, flush_1024x4096, std::string("1f1b_flush"))
    ->Args({1024, 4096, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace pipebench
