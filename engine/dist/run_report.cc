#include "engine/dist/run_report.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/sim/report.h"
#include "engine/util/status_macros.h"

namespace pipebench {

using nlohmann::json;

namespace {

constexpr char kResultKey[] = "pipebench/result/";

std::vector<TimelineEvent> TimelineFromJson(const json& events, int rank, double shift) {
  std::vector<TimelineEvent> timeline;
  for (const json& e : events) {
    timeline.push_back({static_cast<ActionType>(e[0].get<int>()), rank, e[1].get<int>(),
                        e[2].get<int>(), e[3].get<double>() + shift, e[4].get<double>() + shift,
                        e[5].get<int>(), e[6].get<int>(), e[7].get<int>()});
  }
  return timeline;
}

// Median duration of each kind of action on one rank: the per-stage costs as the run saw them.
std::map<std::string, double> MedianDurations(const std::vector<TimelineEvent>& timeline) {
  std::map<ActionType, std::vector<double>> durations;
  for (const TimelineEvent& e : timeline) {
    if (IsCompute(e.type) || e.type == ActionType::kOptimizerStep) {
      durations[e.type].push_back(e.end - e.start);
    }
  }
  auto median = [&](ActionType type) {
    std::vector<double>& d = durations[type];
    if (d.empty()) return 0.0;
    std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
    return d[d.size() / 2];
  };
  return {{"forward", median(ActionType::kForward)},
          {"backward", median(ActionType::kBackward)},
          {"backward_input", median(ActionType::kBackwardInput)},
          {"backward_weight", median(ActionType::kBackwardWeight)},
          {"optimizer_step", median(ActionType::kOptimizerStep)}};
}

}  // namespace

json RankResultToJson(const RankResult& r) {
  json timeline = json::array();
  for (const TimelineEvent& e : r.timeline) {
    timeline.push_back({static_cast<int>(e.type), e.chunk, e.microbatch, e.start, e.end,
                        e.weight_version, e.updates_crossed, e.peer});
  }
  return {{"rank", r.rank},
          {"model_stages", r.model_stages},
          {"losses", r.losses},
          {"max_drift", r.max_drift},
          {"max_drift_per_group", r.max_drift_per_group},
          {"max_live_versions", r.max_live_versions},
          {"start_unix_seconds", r.start_unix_seconds},
          {"wall_seconds", r.wall_seconds},
          {"busy_seconds", r.busy_seconds},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"timeline", timeline}};
}

absl::StatusOr<std::optional<RunSummary>> ReportDistributedRun(
    Communicator& comm, const Schedule& schedule, const RankResult& own,
    std::int64_t tokens_per_microbatch, std::ostream& out, const std::string& trace_path) {
  PB_RETURN_IF_ERROR(comm.Publish(absl::StrCat(kResultKey, comm.rank()),
                                  RankResultToJson(own).dump()));
  if (comm.rank() != 0) return std::optional<RunSummary>();
  std::vector<json> ranks;
  for (int rank = 0; rank < comm.world_size(); ++rank) {
    PB_ASSIGN_OR_RETURN(std::string text, comm.Fetch(absl::StrCat(kResultKey, rank)));
    ranks.push_back(json::parse(text));
  }
  const ScheduleParams& params = schedule.params();
  const int m = params.microbatches;
  const std::vector<double> losses = ranks.back()["losses"].get<std::vector<double>>();
  std::vector<double> batch_losses(params.batches, 0.0);
  for (int batch = 0; batch < params.batches; ++batch) {
    for (int i = 0; i < m; ++i) batch_losses[batch] += losses[batch * m + i] / m;
    out << json{{"step", batch + 1},
                {"train_loss", batch_losses[batch]},
                {"tokens", static_cast<std::int64_t>(batch + 1) * m * tokens_per_microbatch}}
               .dump()
        << "\n";
  }
  RunSummary summary;
  summary.backend = "distributed";
  summary.schedule = schedule.name();
  summary.params = params;
  summary.weights = schedule.weight_policy(0).Describe();
  summary.synchronous = schedule.synchronous();
  summary.microbatches = params.total_microbatches();
  summary.tokens = summary.microbatches * tokens_per_microbatch;
  summary.model_stages.resize(params.model_stages());
  // One clock for the trace: every rank's events relative to the earliest start.
  double first_start = ranks[0]["start_unix_seconds"].get<double>();
  for (const json& r : ranks) first_start = std::min(first_start, r["start_unix_seconds"].get<double>());
  SimulationResult combined;
  combined.schedule = schedule.name() + " (measured)";
  combined.params = params;
  combined.weights = summary.weights;
  combined.model_stages_of_rank.resize(ranks.size());
  double makespan = 0;
  double busy = 0;
  for (const json& r : ranks) {
    const int rank = r["rank"].get<int>();
    const double shift = r["start_unix_seconds"].get<double>() - first_start;
    const double wall = r["wall_seconds"].get<double>();
    const double rank_busy = r["busy_seconds"].get<double>();
    makespan = std::max(makespan, shift + wall);
    busy += rank_busy;
    std::vector<TimelineEvent> timeline = TimelineFromJson(r["timeline"], rank, shift);
    combined.timeline.insert(combined.timeline.end(), timeline.begin(), timeline.end());
    summary.ranks.push_back({.rank = rank,
                             .measured_bubble_fraction = wall > 0 ? 1.0 - rank_busy / wall : 0,
                             .measured_peak_rss_bytes = r["peak_rss_bytes"].get<std::int64_t>(),
                             .measured_median_action_seconds = MedianDurations(timeline)});
    const std::vector<int> held = r["model_stages"].get<std::vector<int>>();
    combined.model_stages_of_rank[rank] = held;
    for (size_t i = 0; i < held.size(); ++i) {
      ModelStageSummary& m = summary.model_stages[held[i]];
      m.model_stage = held[i];
      m.rank = rank;
      m.max_drift = r["max_drift"][i].get<int>();
      SetDriftPerKind(m, r["max_drift_per_group"][i].get<std::vector<int>>());
      m.drift_bound = schedule.DriftBound(rank);
      m.max_live_weight_versions = r["max_live_versions"][i].get<int>();
      summary.max_drift = std::max(summary.max_drift, m.max_drift);
    }
  }
  summary.measured = OnClock(makespan, summary.microbatches, summary.tokens);
  summary.measured->bubble_fraction =
      makespan > 0 ? 1.0 - busy / (ranks.size() * makespan) : 0;
  summary.train_losses = batch_losses;
  combined.makespan = makespan;
  combined.stages.resize(ranks.size());
  std::sort(combined.timeline.begin(), combined.timeline.end(),
            [](const TimelineEvent& a, const TimelineEvent& b) { return a.start < b.start; });
  out << json{{"summary", RunSummaryToJson(summary)}}.dump() << "\n";
  if (!trace_path.empty()) PB_RETURN_IF_ERROR(WriteChromeTrace(combined, trace_path));
  return std::optional<RunSummary>(std::move(summary));
}

}  // namespace pipebench
