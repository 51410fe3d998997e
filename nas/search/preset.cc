#include "nas/search/preset.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/util/workspace.h"

namespace pipebench {
namespace {

using nlohmann::json;

// Reads one object's keys, all required, none unknown; the first problem wins.
class Reader {
 public:
  Reader(const std::string& preset, std::string path, const json& object,
         absl::Status* status)
      : preset_(preset), path_(std::move(path)), object_(object), status_(status) {
    if (!status_->ok()) return;
    if (!object_.is_object()) {
      Fail(path_, "must be an object");
    }
  }

  void AllowOnly(const std::set<std::string>& keys) {
    if (!status_->ok()) return;
    for (const auto& [key, value] : object_.items()) {
      if (keys.count(key) == 0) Fail(Path(key), "is not a preset key");
    }
  }

  double Number(const std::string& key, double low, double high) {
    const json* value = Find(key);
    if (value == nullptr) return 0;
    if (!value->is_number()) return Fail(Path(key), "must be a number"), 0;
    const double number = value->get<double>();
    if (!(number >= low && number <= high)) {
      return Fail(Path(key), absl::StrCat("must be in [", low, ", ", high, "], got ", number)), 0;
    }
    return number;
  }

  int Int(const std::string& key, int low) {
    const json* value = Find(key);
    if (value == nullptr) return 0;
    if (!value->is_number_integer() || value->get<long long>() < low) {
      return Fail(Path(key), absl::StrCat("must be an integer >= ", low)), 0;
    }
    return value->get<int>();
  }

  bool Bool(const std::string& key) {
    const json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) return Fail(Path(key), "must be true or false"), false;
    return value->get<bool>();
  }

  const json& Object(const std::string& key) {
    static const json kEmpty = json::object();
    const json* value = Find(key);
    return value == nullptr ? kEmpty : *value;
  }

  std::string Path(const std::string& key) const {
    return path_.empty() ? key : absl::StrCat(path_, ".", key);
  }

 private:
  const json* Find(const std::string& key) {
    if (!status_->ok()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      Fail(Path(key), "is missing");
      return nullptr;
    }
    return &*it;
  }
  void Fail(const std::string& where, const std::string& what) {
    if (status_->ok()) {
      *status_ = absl::InvalidArgumentError(absl::StrCat("preset '", preset_, "': ", where,
                                                         " ", what));
    }
  }

  const std::string& preset_;
  std::string path_;
  const json& object_;
  absl::Status* status_;
};

OptimizerSettings ReadOptimizer(const std::string& preset, const std::string& path,
                                const json& object, bool scheduled, absl::Status* status) {
  Reader reader(preset, path, object, status);
  std::set<std::string> keys = {"learning_rate", "beta1", "beta2", "weight_decay",
                                "gradient_clip"};
  if (scheduled) keys.insert({"warmup_steps", "min_lr_ratio"});
  reader.AllowOnly(keys);
  OptimizerSettings settings;
  OptimizerConfig& config = settings.config;
  config.learning_rate = reader.Number("learning_rate", 0, 10);
  config.beta1 = reader.Number("beta1", 0, 0.999999);
  config.beta2 = reader.Number("beta2", 0, 0.999999);
  config.weight_decay = reader.Number("weight_decay", 0, 10);
  settings.gradient_clip = reader.Number("gradient_clip", 0, 1e6);
  if (scheduled) {
    config.warmup_steps = reader.Int("warmup_steps", 0);
    config.min_lr_ratio = reader.Number("min_lr_ratio", 0, 1);
  } else {  // alpha's rate is constant
    config.warmup_steps = 0;
    config.min_lr_ratio = 1.0;
  }
  return settings;
}

json OptimizerToJson(const OptimizerSettings& settings, bool scheduled) {
  const OptimizerConfig& c = settings.config;
  json out = {{"learning_rate", c.learning_rate}, {"beta1", c.beta1},
              {"beta2", c.beta2},                 {"weight_decay", c.weight_decay},
              {"gradient_clip", settings.gradient_clip}};
  if (scheduled) {
    out["warmup_steps"] = c.warmup_steps;
    out["min_lr_ratio"] = c.min_lr_ratio;
  }
  return out;
}

}  // namespace

absl::StatusOr<NasPreset> ParseNasPreset(const std::string& name, const json& root) {
  absl::Status status;
  NasPreset preset;
  preset.name = name;
  Reader top(name, "", root, &status);
  top.AllowOnly({"name", "description", "weights", "architecture", "model", "gdas_temperature"});
  preset.weights = ReadOptimizer(name, "weights", top.Object("weights"), true, &status);
  preset.architecture =
      ReadOptimizer(name, "architecture", top.Object("architecture"), false, &status);
  Reader model(name, "model", top.Object("model"), &status);
  model.AllowOnly({"dropout", "tied_embeddings"});
  preset.dropout = model.Number("dropout", 0, 0.99);
  preset.tied_embeddings = model.Bool("tied_embeddings");
  Reader temperature(name, "gdas_temperature", top.Object("gdas_temperature"), &status);
  temperature.AllowOnly({"start", "end"});
  preset.gdas_temperature_start = temperature.Number("start", 1e-3, 1e3);
  preset.gdas_temperature_end = temperature.Number("end", 1e-3, 1e3);
  if (!status.ok()) return status;
  return preset;
}

absl::StatusOr<NasPreset> LoadNasPreset(const std::string& name) {
  const std::string relative = absl::StrCat("configs/nas/presets/", name, ".json");
  const bool plain_name =
      !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                           std::string::npos;
  std::ifstream in(plain_name ? RepositoryPath(relative) : std::string());
  if (!plain_name || !in) {
    return absl::NotFoundError(absl::StrCat("no NAS preset '", name, "' (looked for ", relative,
                                            ")"));
  }
  std::stringstream text;
  text << in.rdbuf();
  const json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(relative, " is not valid JSON"));
  }
  return ParseNasPreset(name, root);
}

json NasPresetToJson(const NasPreset& preset) {
  return {{"name", preset.name},
          {"weights", OptimizerToJson(preset.weights, true)},
          {"architecture", OptimizerToJson(preset.architecture, false)},
          {"model", {{"dropout", preset.dropout}, {"tied_embeddings", preset.tied_embeddings}}},
          {"gdas_temperature",
           {{"start", preset.gdas_temperature_start}, {"end", preset.gdas_temperature_end}}}};
}

absl::StatusOr<NasPreset> NasPresetFromJson(const json& json) {
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string()) {
    return absl::InvalidArgumentError("a recorded preset needs its name");
  }
  return ParseNasPreset(json["name"].get<std::string>(), json);
}

}  // namespace pipebench
