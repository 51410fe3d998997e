#include "engine/runtime/run_summary.h"

#include <algorithm>
#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pipebench {

using nlohmann::json;

namespace {

json ClockToJson(const ClockSummary& clock) {
  json out = {{"seconds", clock.seconds},
              {"microbatches_per_second", clock.microbatches_per_second}};
  if (clock.tokens_per_second) out["tokens_per_second"] = *clock.tokens_per_second;
  if (clock.bubble_fraction) out["bubble_fraction"] = *clock.bubble_fraction;
  return out;
}

// Reads `key` of `object` into `out`; a missing key is an error unless `out` is optional.
template <typename T>
void Read(const json& object, const char* key, T& out) {
  out = object.at(key).get<T>();
}
template <typename T>
void Read(const json& object, const char* key, std::optional<T>& out) {
  if (object.contains(key)) out = object.at(key).get<T>();
}

ClockSummary ClockFromJson(const json& object) {
  ClockSummary clock;
  Read(object, "seconds", clock.seconds);
  Read(object, "microbatches_per_second", clock.microbatches_per_second);
  Read(object, "tokens_per_second", clock.tokens_per_second);
  Read(object, "bubble_fraction", clock.bubble_fraction);
  return clock;
}

}  // namespace

void CountInDriftHistogram(ModelStageSummary& stage, int updates) {
  std::vector<std::int64_t>& histogram = stage.drift_histogram;
  if (static_cast<int>(histogram.size()) <= updates) histogram.resize(updates + 1, 0);
  ++histogram[updates];
}

void SetDriftPerKind(ModelStageSummary& stage, const std::vector<int>& max_drift_per_group) {
  if (max_drift_per_group.size() != 2) return;
  stage.max_weight_drift = max_drift_per_group[0];
  stage.max_architecture_drift = max_drift_per_group[1];
}

ClockSummary OnClock(double seconds, std::int64_t microbatches,
                     std::optional<std::int64_t> tokens) {
  ClockSummary clock;
  clock.seconds = seconds;
  clock.microbatches_per_second = seconds > 0 ? microbatches / seconds : 0;
  if (tokens) clock.tokens_per_second = seconds > 0 ? *tokens / seconds : 0;
  return clock;
}

json RunSummaryToJson(const RunSummary& s) {
  json ranks = json::array();
  for (const RankSummary& r : s.ranks) {
    json rank = {{"rank", r.rank}};
    if (r.simulated_bubble_fraction || r.simulated_peak_memory_bytes ||
        r.simulated_span_seconds) {
      json& simulated = rank["simulated"] = json::object();
      if (r.simulated_bubble_fraction) simulated["bubble_fraction"] = *r.simulated_bubble_fraction;
      if (r.simulated_span_seconds) simulated["span_seconds"] = *r.simulated_span_seconds;
      if (r.simulated_peak_memory_bytes) {
        simulated["peak_memory_bytes"] = *r.simulated_peak_memory_bytes;
      }
    }
    if (r.measured_bubble_fraction || r.measured_peak_rss_bytes ||
        !r.measured_median_action_seconds.empty()) {
      json& measured = rank["measured"] = json::object();
      if (r.measured_bubble_fraction) measured["bubble_fraction"] = *r.measured_bubble_fraction;
      if (r.measured_peak_rss_bytes) measured["peak_rss_bytes"] = *r.measured_peak_rss_bytes;
      if (!r.measured_median_action_seconds.empty()) {
        measured["median_action_seconds"] = r.measured_median_action_seconds;
      }
    }
    ranks.push_back(rank);
  }
  json stages = json::array();
  for (const ModelStageSummary& m : s.model_stages) {
    json stage = {{"model_stage", m.model_stage},
                  {"rank", m.rank},
                  {"max_drift", m.max_drift},
                  {"drift_bound", m.drift_bound},
                  {"max_live_weight_versions", m.max_live_weight_versions}};
    if (!m.drift_histogram.empty()) stage["drift_histogram"] = m.drift_histogram;
    if (m.max_weight_drift) stage["max_weight_drift"] = *m.max_weight_drift;
    if (m.max_architecture_drift) stage["max_architecture_drift"] = *m.max_architecture_drift;
    stages.push_back(stage);
  }
  const ScheduleParams& p = s.params;
  json out = {{"schema_version", kRunSummarySchemaVersion},
              {"backend", s.backend},
              {"schedule", s.schedule},
              {"params",
               {{"stages", p.stages},
                {"microbatches", p.microbatches},
                {"batches", p.batches},
                {"accumulation", p.effective_accumulation()},
                {"chunks", p.chunks}}},
              {"weights", s.weights},
              {"synchronous", s.synchronous},
              {"microbatches", s.microbatches},
              {"max_drift", s.max_drift},
              {"ranks", ranks},
              {"model_stages", stages}};
  if (s.tokens) out["tokens"] = *s.tokens;
  if (s.simulated) out["simulated"] = ClockToJson(*s.simulated);
  if (s.measured) out["measured"] = ClockToJson(*s.measured);
  if (!s.train_losses.empty()) out["train_losses"] = s.train_losses;
  if (s.final_val_loss) out["final_val_loss"] = *s.final_val_loss;
  return out;
}

absl::StatusOr<RunSummary> RunSummaryFromJson(const json& in) {
  const char* field = "schema_version";
  try {
    const int version = in.at(field).get<int>();
    if (version != kRunSummarySchemaVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat("run summary has schema_version ", version, "; this build reads version ",
                       kRunSummarySchemaVersion, " (rerun to regenerate it)"));
    }
    RunSummary s;
    Read(in, field = "backend", s.backend);
    Read(in, field = "schedule", s.schedule);
    field = "params";
    const json& p = in.at("params");
    Read(p, "stages", s.params.stages);
    Read(p, "microbatches", s.params.microbatches);
    Read(p, "batches", s.params.batches);
    Read(p, "accumulation", s.params.accumulation);
    Read(p, "chunks", s.params.chunks);
    Read(in, field = "weights", s.weights);
    Read(in, field = "synchronous", s.synchronous);
    Read(in, field = "microbatches", s.microbatches);
    Read(in, field = "tokens", s.tokens);
    Read(in, field = "max_drift", s.max_drift);
    field = "simulated";
    if (in.contains(field)) s.simulated = ClockFromJson(in.at(field));
    field = "measured";
    if (in.contains(field)) s.measured = ClockFromJson(in.at(field));
    field = "ranks";
    for (const json& r : in.at(field)) {
      RankSummary rank;
      Read(r, "rank", rank.rank);
      if (r.contains("simulated")) {
        Read(r["simulated"], "bubble_fraction", rank.simulated_bubble_fraction);
        Read(r["simulated"], "peak_memory_bytes", rank.simulated_peak_memory_bytes);
        Read(r["simulated"], "span_seconds", rank.simulated_span_seconds);
      }
      if (r.contains("measured")) {
        Read(r["measured"], "bubble_fraction", rank.measured_bubble_fraction);
        Read(r["measured"], "peak_rss_bytes", rank.measured_peak_rss_bytes);
        if (r["measured"].contains("median_action_seconds")) {
          rank.measured_median_action_seconds =
              r["measured"]["median_action_seconds"].get<std::map<std::string, double>>();
        }
      }
      s.ranks.push_back(rank);
    }
    field = "model_stages";
    for (const json& m : in.at(field)) {
      ModelStageSummary stage;
      Read(m, "model_stage", stage.model_stage);
      Read(m, "rank", stage.rank);
      Read(m, "max_drift", stage.max_drift);
      Read(m, "drift_bound", stage.drift_bound);
      Read(m, "max_live_weight_versions", stage.max_live_weight_versions);
      if (m.contains("drift_histogram")) {
        stage.drift_histogram = m["drift_histogram"].get<std::vector<std::int64_t>>();
      }
      Read(m, "max_weight_drift", stage.max_weight_drift);
      Read(m, "max_architecture_drift", stage.max_architecture_drift);
      s.model_stages.push_back(stage);
    }
    field = "train_losses";
    if (in.contains(field)) s.train_losses = in.at(field).get<std::vector<double>>();
    Read(in, field = "final_val_loss", s.final_val_loss);
    return s;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("run summary field '", field, "': ", e.what()));
  }
}

}  // namespace pipebench
