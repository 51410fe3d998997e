#include "engine/sim/cost_model.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/util/json_text.h"
#include "nlohmann/json.hpp"

namespace pipebench {
namespace {

using nlohmann::json;

absl::Status CheckKeys(const json& object, const std::set<std::string>& allowed,
                       const std::string& where) {
  if (!object.is_object()) return absl::InvalidArgumentError(where + " must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown key '", key, "' in ", where,
                                                     "; allowed: ", absl::StrJoin(allowed, ", ")));
    }
  }
  return absl::OkStatus();
}

// Byte counts are whole numbers a stage could hold: at most 2^50 (a petabyte).
constexpr double kMaxBytes = 1125899906842624.0;
// A cost (in seconds, or the caller's units) above this is a typo or an overflow in the making:
// sums of many such actions must stay finite.
constexpr double kMaxCost = 1e9;

absl::Status ReadNumber(const json& object, const std::string& key, const std::string& where,
                        double* out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " must be a number"));
  }
  *out = it->get<double>();
  return absl::OkStatus();
}

// Byte counts: whole numbers in [0, kMaxBytes], never truncated or wrapped.
absl::Status ReadNumber(const json& object, const std::string& key, const std::string& where,
                        std::int64_t* out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  const double value = it->is_number() ? it->get<double>() : -1;
  if (!it->is_number() || value < 0 || value > kMaxBytes || std::floor(value) != value) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key,
                                                   " must be a whole number of bytes in [0, 2^50], "
                                                   "got ", it->dump()));
  }
  *out = it->is_number_integer() ? it->get<std::int64_t>() : static_cast<std::int64_t>(value);
  return absl::OkStatus();
}

absl::Status CheckNonNegative(double value, const std::string& name, double maximum) {
  if (!std::isfinite(value) || value < 0 || value > maximum) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a finite number in [0, ", maximum, "], got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CostModel::Validate(int model_stages) const {
  for (const auto& [name, size] : {std::pair<const char*, size_t>{"stages", stages.size()},
                                   std::pair<const char*, size_t>{"memory", memory.size()}}) {
    if (size != 1 && size != static_cast<size_t>(model_stages)) {
      return absl::InvalidArgumentError(absl::StrCat("cost model has ", size, " ", name,
                                                     " entries; need 1 (uniform) or ",
                                                     model_stages, " (one per model stage)"));
    }
  }
  for (size_t g = 0; g < stages.size(); ++g) {
    const StageCost& c = stages[g];
    const std::string at = absl::StrCat("stage ", g, " ");
    for (const auto& [value, name, maximum] :
         {std::tuple<double, const char*, double>{c.forward, "forward cost", kMaxCost},
          {c.backward_input, "backward_input cost", kMaxCost},
          {c.backward_weight, "backward_weight cost", kMaxCost},
          {c.optimizer_step, "optimizer_step cost", kMaxCost},
          {c.activation_bytes, "activation_bytes", kMaxBytes}}) {
      if (absl::Status s = CheckNonNegative(value, at + name, maximum); !s.ok()) return s;
    }
  }
  for (size_t g = 0; g < memory.size(); ++g) {
    const StageMemory& m = memory[g];
    const std::string at = absl::StrCat("stage ", g, " ");
    for (const auto& [value, name] :
         {std::pair<double, const char*>{static_cast<double>(m.parameter_bytes), "parameter_bytes"},
          {static_cast<double>(m.optimizer_state_bytes), "optimizer_state_bytes"},
          {static_cast<double>(m.activation_bytes), "activation_memory_bytes"}}) {
      if (absl::Status s = CheckNonNegative(value, at + name, kMaxBytes); !s.ok()) return s;
    }
  }
  if (absl::Status s = CheckNonNegative(p2p_latency, "p2p latency", kMaxCost); !s.ok()) return s;
  return CheckNonNegative(p2p_bandwidth, "p2p bandwidth", 1e18);
}

absl::StatusOr<CostModel> ParseCostModelJson(const std::string& text) {
  // Not only syntax: a number too large for a double is an error too (found by
  // cost_model_fuzz_test; the input is in its corpus).
  absl::StatusOr<json> parsed = ParseJsonText(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cost model is not valid JSON: ", parsed.status().message()));
  }
  const json root = *std::move(parsed);
  if (absl::Status s = CheckKeys(root, {"description", "p2p", "stages"}, "cost model"); !s.ok()) {
    return s;
  }
  CostModel model;
  if (root.contains("p2p")) {
    const json& p2p = root["p2p"];
    if (absl::Status s = CheckKeys(p2p, {"latency", "bandwidth_bytes_per_second"}, "p2p");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadNumber(p2p, "latency", "p2p", &model.p2p_latency); !s.ok()) return s;
    if (absl::Status s =
            ReadNumber(p2p, "bandwidth_bytes_per_second", "p2p", &model.p2p_bandwidth);
        !s.ok()) {
      return s;
    }
  }
  if (!root.contains("stages") || !root["stages"].is_array() || root["stages"].empty()) {
    return absl::InvalidArgumentError("cost model needs a non-empty 'stages' list");
  }
  model.stages.clear();
  model.memory.clear();
  int index = 0;
  for (const json& entry : root["stages"]) {
    const std::string where = absl::StrCat("stages[", index++, "]");
    if (absl::Status s = CheckKeys(entry,
                                   {"forward", "backward_input", "backward_weight",
                                    "optimizer_step", "activation_bytes", "parameter_bytes",
                                    "optimizer_state_bytes", "activation_memory_bytes"},
                                   where);
        !s.ok()) {
      return s;
    }
    StageCost cost;
    StageMemory memory;
    for (absl::Status s : {ReadNumber(entry, "forward", where, &cost.forward),
                           ReadNumber(entry, "backward_input", where, &cost.backward_input),
                           ReadNumber(entry, "backward_weight", where, &cost.backward_weight),
                           ReadNumber(entry, "optimizer_step", where, &cost.optimizer_step),
                           ReadNumber(entry, "activation_bytes", where, &cost.activation_bytes),
                           ReadNumber(entry, "parameter_bytes", where, &memory.parameter_bytes),
                           ReadNumber(entry, "optimizer_state_bytes", where,
                                      &memory.optimizer_state_bytes),
                           ReadNumber(entry, "activation_memory_bytes", where,
                                      &memory.activation_bytes)}) {
      if (!s.ok()) return s;
    }
    model.stages.push_back(cost);
    model.memory.push_back(memory);
  }
  return model;
}

absl::StatusOr<CostModel> LoadCostModel(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open cost file '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<CostModel> model = ParseCostModelJson(text.str());
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat(path, ": ", model.status().message()));
  }
  return model;
}

std::string CostModelToJson(const CostModel& model) {
  json stages = json::array();
  for (size_t g = 0; g < std::max(model.stages.size(), model.memory.size()); ++g) {
    const StageCost& c = model.stages[std::min(g, model.stages.size() - 1)];
    const StageMemory& m = model.memory[std::min(g, model.memory.size() - 1)];
    stages.push_back({{"forward", c.forward},
                      {"backward_input", c.backward_input},
                      {"backward_weight", c.backward_weight},
                      {"optimizer_step", c.optimizer_step},
                      {"activation_bytes", c.activation_bytes},
                      {"parameter_bytes", m.parameter_bytes},
                      {"optimizer_state_bytes", m.optimizer_state_bytes},
                      {"activation_memory_bytes", m.activation_bytes}});
  }
  json root = {{"p2p",
                {{"latency", model.p2p_latency},
                 {"bandwidth_bytes_per_second", model.p2p_bandwidth}}},
               {"stages", stages}};
  return root.dump(2) + "\n";
}

}  // namespace pipebench
