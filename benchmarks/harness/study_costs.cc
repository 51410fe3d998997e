#include "benchmarks/harness/study_costs.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/sim/cost_model.h"
#include "engine/util/json_text.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

namespace pipebench {

using nlohmann::json;

namespace {

absl::Status AtPath(const std::string& path, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.message()));
}

// A cost file: pinned (cut per cell) or one cost model, inlined so the cells' keys cover its
// content either way.
absl::StatusOr<StudyCosts> ReadCostFile(const std::string& file, const std::string& path) {
  StudyCosts costs;
  costs.file = file;
  absl::StatusOr<std::string> text = ReadTextFile(RepositoryPath(file));
  if (!text.ok()) return AtPath(path, text.status());
  absl::StatusOr<json> parsed = ParseJsonText(*text);
  if (!parsed.ok())
    return AtPath(path,
                  absl::InvalidArgumentError(absl::StrCat(file, ": ", parsed.status().message())));
  if (IsPinnedCostsJson(*parsed)) {
    absl::StatusOr<PinnedCosts> pinned = ParsePinnedCosts(*parsed);
    if (!pinned.ok()) {
      return AtPath(
          path, absl::InvalidArgumentError(absl::StrCat(file, ": ", pinned.status().message())));
    }
    costs.pinned = *std::move(pinned);
    return costs;
  }
  absl::StatusOr<CostModel> model = ParseCostModelJson(*text);
  if (!model.ok()) {
    return AtPath(path, absl::InvalidArgumentError(
                            absl::StrCat(file, ": ", model.status().message())));
  }
  costs.model = json::parse(CostModelToJson(*model));
  return costs;
}

}  // namespace

absl::StatusOr<StudyCosts> ReadStudyCosts(const json* field, const std::string& path) {
  if (field == nullptr || (field->is_string() && field->get<std::string>() == "measured")) {
    return StudyCosts();
  }
  if (field->is_string()) return ReadCostFile(field->get<std::string>(), path);
  if (field->is_object()) {
    absl::StatusOr<CostModel> parsed = ParseCostModelJson(field->dump());
    if (!parsed.ok()) return AtPath(path, parsed.status());
    StudyCosts costs;
    costs.model = *field;
    return costs;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected \"measured\", a cost file or a cost model object"));
}

absl::StatusOr<json> PinnedCellCosts(const StudyCosts& costs, const std::string& path,
                                     const std::string& model, int micro_batch_size,
                                     int model_stages, const json& link) {
  const PinnedCosts& pinned = *costs.pinned;
  if (pinned.model != model || pinned.micro_batch_size != micro_batch_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", costs.file, " pins model '", pinned.model, "' at micro-batch size ",
        pinned.micro_batch_size, ", not '", model, "' at ", micro_batch_size));
  }
  if (pinned.partition != "layers") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", costs.file, " pins stages balanced by time; pipeline studies cut by layers"));
  }
  const PinnedCut* cut = pinned.Cut(model_stages);
  if (cut == nullptr) {
    std::vector<int> cuts;
    for (const PinnedCut& c : pinned.cuts) cuts.push_back(c.model_stages);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", costs.file, " has no cut into ", model_stages, " stages (it has ",
                     absl::StrJoin(cuts, ", "),
                     "); pin it again with that cut added to --cuts (its "
                     "made_by.command)"));
  }
  CostModel priced = cut->costs;
  priced.p2p_latency = link.at("latency_seconds").get<double>();
  priced.p2p_bandwidth = link.at("bandwidth_bytes_per_second").get<double>();
  return json::parse(CostModelToJson(priced));
}

}  // namespace pipebench
