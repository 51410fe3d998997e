// Brings the ranks' results of a distributed run together on rank 0: per mini-batch losses, a
// summary (measured tokens/s, bubble fraction, peak memory per stage, drift against its bound),
// and one Chrome/Perfetto trace of every rank's real action timings, in the simulator's format.
#ifndef PIPEBENCH_ENGINE_DIST_RUN_REPORT_H_
#define PIPEBENCH_ENGINE_DIST_RUN_REPORT_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "engine/dist/communicator.h"
#include "engine/dist/rank_runtime.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/schedule.h"
#include "nlohmann/json.hpp"

namespace pipebench {

nlohmann::json RankResultToJson(const RankResult& result);

// Every rank publishes its result through the rendezvous store; rank 0 waits for all of them and
// writes one JSON line per mini-batch (step, train_loss, tokens) and a closing {"summary": ...}
// line (the RunSummary, `measured` clock) to `out`, writes the combined trace to `trace_path`
// when it is not empty, and returns the summary. Other ranks return nullopt.
absl::StatusOr<std::optional<RunSummary>> ReportDistributedRun(Communicator& comm, const Schedule& schedule,
                                  const RankResult& own, std::int64_t tokens_per_microbatch,
                                  std::ostream& out, const std::string& trace_path);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_RUN_REPORT_H_
