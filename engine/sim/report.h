// Renders a simulation three ways: a JSON summary, a Chrome/Perfetto trace of the timeline
// (open it at ui.perfetto.dev or chrome://tracing), and a compact stage x time text grid.
#ifndef PIPEBENCH_ENGINE_SIM_REPORT_H_
#define PIPEBENCH_ENGINE_SIM_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/schedule.h"
#include "engine/sim/simulator.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// The run summary every backend writes (engine/runtime/run_summary.h), with the `simulated` clock
// only: throughput, bubble and modelled memory per rank, drift per model stage. Tokens per second
// when `tokens_per_microbatch` is known.
RunSummary SummarizeSimulation(const SimulationResult& result, const Schedule& schedule,
                               std::optional<std::int64_t> tokens_per_microbatch = std::nullopt);

// Trace Event Format; times are scaled by `seconds_per_unit` into microseconds. Needs a result
// simulated with record_timeline.
std::string ChromeTrace(const SimulationResult& result, double seconds_per_unit = 1.0);
absl::Status WriteChromeTrace(const SimulationResult& result, const std::string& path,
                              double seconds_per_unit = 1.0);

// One row per rank, one column per time step of the shortest compute action; each cell shows the
// action letter and micro-batch ("F3", "B12", "U", "." when idle). Wider timelines are cut at
// `max_columns` with a note. Needs a result simulated with record_timeline.
std::string TimelineGrid(const SimulationResult& result, int max_columns = 120);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SIM_REPORT_H_
