#include "nas/search/search_and_evaluate.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

nlohmann::json OptionalLoss(const std::optional<double>& loss) {
  return loss ? nlohmann::json(*loss) : nlohmann::json(nullptr);
}

}  // namespace

absl::StatusOr<nlohmann::json> SearchAndEvaluate(
    const SearchSpace& space, const TokenDataset& data, const SearchJob& job,
    const std::function<void(const SearchStep&)>& on_step) {
  if (absl::Status s = CheckRetraining(job.retrain_steps, job.retrain, job.validation_batches);
      !s.ok()) {
    return s;
  }
  const SearchOptions& options = job.search;
  absl::StatusOr<SearchResult> result = RunSearch(space, data, options, on_step);
  if (!result.ok()) return result.status();

  RetrainOptions retrain;
  retrain.steps = job.retrain_steps;
  retrain.batch_size = options.batch_size;
  retrain.seed = options.seed;
  retrain.validation_batches = job.validation_batches;
  retrain.optimizer = options.preset.weights;
  EvaluationPlan plan = job.retrain;
  if (job.retrain_steps == 0) plan = EvaluationPlan();
  nlohmann::json derived = nlohmann::json::array();
  for (const DerivedArchitecture& d : result->derived) {
    absl::StatusOr<DerivedEvaluation> evaluation = EvaluateDerived(
        space, d.architecture, *d.network, NetworkOptions(options), data, retrain, plan);
    if (!evaluation.ok()) return evaluation.status();
    nlohmann::json curve = nlohmann::json::array();
    for (const AnytimePoint& point : d.curve) {
      curve.push_back({{"seconds", point.seconds},
                       {"step", point.step},
                       {"architecture", point.architecture},
                       {"val_loss", point.val_loss}});
    }
    nlohmann::json entry = {{"method", d.method},
                            {"architecture", d.architecture_json},
                            {"parameters", d.parameters},
                            {"model", nlohmann::json::parse(GptConfigToJson(d.network->config))},
                            {"search_seconds", d.search_seconds},
                            {"curve", curve}};
    AddEvaluation(*evaluation, entry);
    derived.push_back(std::move(entry));
  }
  return nlohmann::json{{"method", SearchMethodName(options.method)},
                        {"space",
                         {{"embed", space.embed},
                          {"heads", space.heads},
                          {"mlp_ratio", space.mlp_ratio},
                          {"layers", space.layers},
                          {"context", space.context}}},
                        {"unigram_val_loss",
                         UnigramValidationLoss(data, static_cast<int>(space.context),
                                               options.batch_size, job.validation_batches,
                                               options.seed)},
                        {"preset", NasPresetToJson(options.preset)},
                        {"storage", WeightStorageName(options.storage)},
                        {"attention", AttentionModeName(options.attention)},
                        {"steps", options.steps},
                        {"batch_size", options.batch_size},
                        {"supernet_parameters", result->supernet_parameters},
                        {"retrain_steps", job.retrain_steps},
                        {"derived", derived}};
}

absl::Status CheckRetraining(int retrain_steps, const EvaluationPlan& plan,
                             int validation_batches) {
  if (retrain_steps < 0 || validation_batches < 1) {
    return absl::InvalidArgumentError("retrain_steps must be >= 0 and validation_batches >= 1");
  }
  if (retrain_steps > 0 && !plan.finetune && !plan.scratch) {
    return absl::InvalidArgumentError(
        "retrain_steps > 0 needs a way to retrain: from the inherited weights, from scratch, "
        "or both");
  }
  return absl::OkStatus();
}

void AddEvaluation(const DerivedEvaluation& evaluation, nlohmann::json& derived) {
  derived["val_loss_inherited"] = evaluation.val_loss_inherited;
  derived["val_loss_finetuned"] = OptionalLoss(evaluation.val_loss_finetuned);
  derived["val_loss_scratch"] = OptionalLoss(evaluation.val_loss_scratch);
}

absl::Status WriteDerivedModels(const nlohmann::json& record, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create '", dir, "': ", error.message()));
  }
  for (const nlohmann::json& derived : record.at("derived")) {
    const std::string method = derived.at("method").get<std::string>();
    nlohmann::ordered_json model;
    model["description"] = absl::StrCat(
        "derived by ", method, " (", record.at("storage").get<std::string>(), " weights, preset ",
        record.at("preset").at("name").get<std::string>(), ", ", record.at("steps").get<int>(),
        " search steps)");
    for (const auto& [key, value] : derived.at("model").items()) model[key] = value;
    const std::string path = absl::StrCat(dir, "/", method, ".json");
    PB_RETURN_IF_ERROR(WriteTextFile(path, model.dump(2) + "\n", "derived model"));
  }
  return absl::OkStatus();
}

}  // namespace pipebench
