#include "benchmarks/harness/pinned_costs.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "benchmarks/harness/field_reader.h"
#include "engine/util/json_text.h"
#include "engine/util/status_macros.h"

namespace pipebench {

using nlohmann::json;

const PinnedCut* PinnedCosts::Cut(int model_stages) const {
  for (const PinnedCut& cut : cuts) {
    if (cut.model_stages == model_stages) return &cut;
  }
  return nullptr;
}

std::vector<CutDisagreement> Disagreements(const PinnedCosts& pinned) {
  std::vector<CutDisagreement> out;
  const PinnedCut* whole = pinned.Cut(1);
  if (whole == nullptr || whole->compute_seconds <= 0) return out;
  for (const PinnedCut& cut : pinned.cuts) {
    const double difference = cut.compute_seconds / whole->compute_seconds - 1;
    const double allowed = cut.spread + whole->spread;
    if (std::abs(difference) > allowed) out.push_back({cut.model_stages, difference, allowed});
  }
  return out;
}

bool IsPinnedCostsJson(const json& file) { return file.is_object() && file.contains("cuts"); }

absl::StatusOr<PinnedCosts> ParsePinnedCosts(const json& file) {
  FieldReader reader(file, "");
  reader.AllowOnly(
      {"description", "model", "micro_batch_size", "partition", "repeats", "made_by", "cuts"});
  PinnedCosts pinned;
  pinned.description = reader.String("description", std::string());
  pinned.model = reader.String("model");
  pinned.micro_batch_size = reader.Int("micro_batch_size", 1);
  pinned.partition = reader.String("partition", std::string("layers"));
  pinned.repeats = reader.Int("repeats", 1);
  if (const json* made_by = reader.Raw("made_by")) {
    if (!made_by->is_object()) reader.Fail("made_by", "expected an object");
    pinned.made_by = *made_by;
  }
  if (pinned.partition != "layers" && pinned.partition != "time") {
    reader.Fail("partition", "expected \"layers\" or \"time\"");
  }
  const json cuts = reader.List("cuts");
  PB_RETURN_IF_ERROR(reader.status());
  for (size_t i = 0; i < cuts.size(); ++i) {
    const std::string where = absl::StrCat("cuts[", i, "]");
    FieldReader entry(cuts[i], where);
    entry.AllowOnly({"model_stages", "compute_seconds", "spread", "costs"});
    PinnedCut cut;
    cut.model_stages = entry.Int("model_stages", 1);
    cut.compute_seconds = entry.Number("compute_seconds", 0);
    cut.spread = entry.Number("spread", 0);
    const json* costs = entry.Raw("costs");
    if (costs == nullptr) entry.Fail("costs", "required");
    PB_RETURN_IF_ERROR(entry.status());
    absl::StatusOr<CostModel> model = ParseCostModelJson(costs->dump());
    absl::Status valid = model.ok() ? model->Validate(cut.model_stages) : model.status();
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".costs: ", valid.message()));
    }
    cut.costs = *std::move(model);
    if (pinned.Cut(cut.model_stages) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".model_stages: cut ", cut.model_stages, " appears twice"));
    }
    if (!pinned.cuts.empty() && pinned.cuts.back().model_stages > cut.model_stages) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".model_stages: cuts must be in ascending order"));
    }
    pinned.cuts.push_back(std::move(cut));
  }
  return pinned;
}

absl::StatusOr<PinnedCosts> LoadPinnedCosts(const std::string& path) {
  PB_ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path));
  absl::StatusOr<json> file = ParseJsonText(text);
  absl::StatusOr<PinnedCosts> pinned = file.ok() ? ParsePinnedCosts(*file) : file.status();
  if (!pinned.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", pinned.status().message()));
  }
  return pinned;
}

json PinnedCostsToJson(const PinnedCosts& pinned) {
  json cuts = json::array();
  for (const PinnedCut& cut : pinned.cuts) {
    cuts.push_back({{"model_stages", cut.model_stages},
                    {"compute_seconds", cut.compute_seconds},
                    {"spread", cut.spread},
                    {"costs", json::parse(CostModelToJson(cut.costs))}});
  }
  return {{"description", pinned.description},
          {"model", pinned.model},
          {"micro_batch_size", pinned.micro_batch_size},
          {"partition", pinned.partition},
          {"repeats", pinned.repeats},
          {"made_by", pinned.made_by},
          {"cuts", cuts}};
}

}  // namespace pipebench
