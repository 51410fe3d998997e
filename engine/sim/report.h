// Renders a simulation three ways: a JSON summary, a Chrome/Perfetto trace of the timeline
// (open it at ui.perfetto.dev or chrome://tracing), and a compact stage x time text grid.
#ifndef PIPEBENCH_ENGINE_SIM_REPORT_H_
#define PIPEBENCH_ENGINE_SIM_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "engine/sim/simulator.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// Fields: schedule, params, weights, makespan, throughput, bubble_fraction,
// max_version_drift, actions, and `stages` (one object per rank).
nlohmann::json SimulationToJson(const SimulationResult& result);

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
