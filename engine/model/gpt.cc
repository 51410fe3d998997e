#include "engine/model/gpt.h"

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/platform/device.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nlohmann/json.hpp"

namespace pipebench {
namespace {

constexpr int kEmbeddingTensors = 2;  // token table, position table
constexpr int kBlockTensors = 12;
// Final norm weight and bias, and the head matrix unless it is the token table.
constexpr int kHeadTensors = 3;
constexpr int kTiedHeadTensors = 2;

int TensorsOfUnit(const GptConfig& config, int unit) {
  if (unit == 0) return kEmbeddingTensors;
  if (unit == config.layers + 1) return config.tied_embeddings ? kTiedHeadTensors : kHeadTensors;
  return kBlockTensors;
}

torch::Tensor Normal(at::Generator& gen, std::vector<int64_t> shape, double std) {
  return at::normal(0.0, std, shape, gen);
}

void AppendUnitWeights(const GptConfig& config, int unit, std::uint64_t seed,
                       std::vector<torch::Tensor>* out) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + unit);
  const int64_t d = config.embed;
  const double std = 0.02;
  // GPT-2: residual projections shrink with depth so the residual stream's variance stays put.
  const double residual_std = std / std::sqrt(2.0 * config.layers);
  if (unit == 0) {
    out->push_back(Normal(gen, {config.vocab_size, d}, std));
    out->push_back(Normal(gen, {config.context, d}, std));
  } else if (unit == config.layers + 1) {
    out->push_back(torch::ones({d}));
    out->push_back(torch::zeros({d}));
    if (!config.tied_embeddings) out->push_back(Normal(gen, {config.vocab_size, d}, std));
  } else {
    const int64_t hidden = d * config.MlpRatioOf(unit - 1);
    out->push_back(torch::ones({d}));                        // ln1 weight
    out->push_back(torch::zeros({d}));                       // ln1 bias
    out->push_back(Normal(gen, {3 * d, d}, std));            // qkv weight
    out->push_back(torch::zeros({3 * d}));                   // qkv bias
    out->push_back(Normal(gen, {d, d}, residual_std));       // attention projection
    out->push_back(torch::zeros({d}));
    out->push_back(torch::ones({d}));                        // ln2 weight
    out->push_back(torch::zeros({d}));                       // ln2 bias
    out->push_back(Normal(gen, {hidden, d}, std));           // MLP in
    out->push_back(torch::zeros({hidden}));
    out->push_back(Normal(gen, {d, hidden}, residual_std));  // MLP out
    out->push_back(torch::zeros({d}));
  }
}

// Inverted dropout with masks from `gen`; the identity when there is no generator.
torch::Tensor Dropout(const torch::Tensor& x, double p, std::optional<at::Generator>& gen) {
  if (!gen || p <= 0) return x;
  const torch::Tensor keep = at::bernoulli(torch::full(x.sizes(), 1.0 - p, x.options()), *gen);
  return x * keep / (1.0 - p);
}

torch::Tensor Block(const GptConfig& config, int block, const torch::Tensor* w,
                    const torch::Tensor& x, std::optional<at::Generator>& gen) {
  const int64_t batch = x.size(0);
  const int64_t time = x.size(1);
  const int64_t d = config.embed;
  const int64_t heads_count = config.HeadsOf(block);
  const int64_t head_dim = d / heads_count;
  torch::Tensor h = torch::layer_norm(x, {d}, w[0], w[1]);
  std::vector<torch::Tensor> qkv = torch::linear(h, w[2], w[3]).chunk(3, -1);
  auto heads = [&](const torch::Tensor& t) {
    return t.view({batch, time, heads_count, head_dim}).transpose(1, 2);
  };
  torch::Tensor q = heads(qkv[0]);
  torch::Tensor k = heads(qkv[1]);
  torch::Tensor v = heads(qkv[2]);
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(head_dim)));
  torch::Tensor future =
      torch::ones({time, time}, x.options().dtype(torch::kBool)).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  torch::Tensor attended =
      torch::matmul(Dropout(torch::softmax(scores, -1), config.dropout, gen), v);
  attended = attended.transpose(1, 2).contiguous().view({batch, time, d});
  torch::Tensor y = x + Dropout(torch::linear(attended, w[4], w[5]), config.dropout, gen);
  torch::Tensor m = torch::layer_norm(y, {d}, w[6], w[7]);
  return y + Dropout(torch::linear(torch::gelu(torch::linear(m, w[8], w[9])), w[10], w[11]),
                     config.dropout, gen);
}

}  // namespace

absl::Status GptConfig::Validate() const {
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"vocab_size", vocab_size}, {"layers", layers},
        {"embed", embed}, {"heads", heads}, {"mlp_ratio", mlp_ratio}, {"context", context}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(absl::StrCat("model ", name, " must be >= 1, got ", value));
    }
  }
  for (const auto& [name, list] : {std::pair<const char*, const std::vector<int>*>{
                                       "heads", &block_heads},
                                   {"mlp_ratio", &block_mlp_ratio}}) {
    if (list->empty()) continue;
    if (static_cast<int>(list->size()) != layers) {
      return absl::InvalidArgumentError(absl::StrCat("model ", name, " lists ", list->size(),
                                                     " blocks, the model has ", layers));
    }
    for (size_t b = 0; b < list->size(); ++b) {
      if ((*list)[b] < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("model ", name, "[", b, "] must be >= 1, got ", (*list)[b]));
      }
    }
  }
  // One check for a uniform model: its layer count may be any int, the per-block lists are as
  // long as the text that wrote them.
  for (int b = 0; b < (block_heads.empty() ? 1 : layers); ++b) {
    if (embed % HeadsOf(b) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("model embed (", embed, ") must be divisible by heads (", HeadsOf(b), ")",
                       block_heads.empty() ? "" : absl::StrCat(" of block ", b)));
    }
  }
  return absl::OkStatus();
}

double EstimateTrainingBytes(const GptConfig& config, int micro_batch_size,
                             int microbatches_in_flight) {
  // In doubles: an absurd shape must give a large number, not an overflowed int.
  const double e = config.embed, v = config.vocab_size, t = config.context;
  const double tokens = static_cast<double>(micro_batch_size) * t;
  double parameters = (2 * v + t) * e + 2 * e + v;  // tables, final norm, head
  double activations = tokens * v * 2;               // logits and their softmax
  const int distinct = config.block_heads.empty() && config.block_mlp_ratio.empty() ? 1
                                                                                    : config.layers;
  for (int b = 0; b < distinct; ++b) {
    const double r = config.MlpRatioOf(b), heads = config.HeadsOf(b);
    const double weight = distinct == 1 ? config.layers : 1.0;
    parameters += weight * ((4 + 2 * r) * e * e + (12 + r) * e);
    activations += weight * (tokens * e * (10 + 2 * r) +
                             static_cast<double>(micro_batch_size) * heads * t * t * 2);
  }
  return parameters * 16 + activations * 4 * std::max(1, microbatches_in_flight);
}

double PhysicalMemoryBytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

absl::Status CheckTrainingFits(const GptConfig& config, int micro_batch_size,
                               int microbatches_in_flight, double limit_bytes) {
  const double bytes = EstimateTrainingBytes(config, micro_batch_size, microbatches_in_flight);
  if (bytes <= limit_bytes) return absl::OkStatus();
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "model %s with micro-batches of %d sequences (%d in flight) needs about %.3g GiB to train "
      "(weights, gradients, AdamW state and activations); this machine has %.3g GiB",
      config.Describe(), micro_batch_size, microbatches_in_flight, bytes / kGiB,
      limit_bytes / kGiB));
}

std::string GptConfig::Describe() const {
  auto per_block = [](int uniform, const std::vector<int>& list) {
    return list.empty() ? absl::StrCat(uniform) : absl::StrCat("[", absl::StrJoin(list, ","), "]");
  };
  return absl::StrCat("layers=", layers, " embed=", embed,
                      " heads=", per_block(heads, block_heads),
                      " mlp_ratio=", per_block(mlp_ratio, block_mlp_ratio), " context=", context,
                      " vocab=", vocab_size,
                      dropout > 0 ? absl::StrCat(" dropout=", dropout) : "",
                      tied_embeddings ? " tied_embeddings" : "");
}

absl::StatusOr<GptConfig> ParseGptConfig(const std::string& text, int vocab_size) {
  if (absl::EndsWith(text, ".json")) {
    const std::string path = ResolvePath(text);
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("--model: cannot open '", path, "'"));
    std::stringstream contents;
    contents << in.rdbuf();
    return ParseGptConfigJson(contents.str(), vocab_size, absl::StrCat("--model '", path, "'"));
  }
  GptConfig model;
  model.vocab_size = vocab_size;
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(pair, '=');
    if (kv.size() == 2 && kv[0] == "dropout") {
      if (!absl::SimpleAtod(kv[1], &model.dropout) || !(model.dropout >= 0 && model.dropout < 1)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--model: dropout must be a number in [0, 1), got '", kv[1], "'"));
      }
      continue;
    }
    int value = 0;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) {
      return absl::InvalidArgumentError(absl::StrCat("--model: expected key=value, got '", pair, "'"));
    }
    if (kv[0] == "layers") {
      model.layers = value;
    } else if (kv[0] == "embed") {
      model.embed = value;
    } else if (kv[0] == "heads") {
      model.heads = value;
    } else if (kv[0] == "mlp_ratio") {
      model.mlp_ratio = value;
    } else if (kv[0] == "context") {
      model.context = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--model: unknown key '", kv[0],
          "' (known: layers, embed, heads, mlp_ratio, context, dropout; or a model file *.json)"));
    }
  }
  PB_RETURN_IF_ERROR(model.Validate());
  return model;
}

absl::StatusOr<GptConfig> ParseGptConfigJson(const std::string& json_text, int vocab_size,
                                             const std::string& origin) {
  using nlohmann::json;
  auto error = [&](const std::string& field, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", field, ": ", what));
  };
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": not JSON: ", e.what()));
  }
  if (!root.is_object()) return absl::InvalidArgumentError(absl::StrCat(origin, ": expected an object"));
  const std::set<std::string> known = {"description", "layers",  "embed",
                                       "heads",       "mlp_ratio", "context",
                                       "dropout",     "tied_embeddings"};
  for (const auto& [key, value] : root.items()) {
    if (known.count(key) == 0) {
      return error(key, absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  GptConfig model;
  model.vocab_size = vocab_size;
  auto read_int = [&](const std::string& key, bool required, int* out) -> absl::Status {
    if (!root.contains(key)) {
      return required ? error(key, "missing") : absl::OkStatus();
    }
    if (!root[key].is_number_integer()) {
      return error(key, absl::StrCat("expected an integer, got ", root[key].dump()));
    }
    *out = root[key].get<int>();
    return absl::OkStatus();
  };
  PB_RETURN_IF_ERROR(read_int("layers", true, &model.layers));
  PB_RETURN_IF_ERROR(read_int("embed", true, &model.embed));
  PB_RETURN_IF_ERROR(read_int("context", false, &model.context));
  // An integer for every block, or one entry per block.
  auto read_per_block = [&](const std::string& key, int* uniform,
                            std::vector<int>* list) -> absl::Status {
    if (!root.contains(key)) return absl::OkStatus();
    const json& value = root[key];
    if (value.is_number_integer()) {
      *uniform = value.get<int>();
      return absl::OkStatus();
    }
    if (!value.is_array()) {
      return error(key, absl::StrCat("expected an integer or a list, got ", value.dump()));
    }
    for (size_t b = 0; b < value.size(); ++b) {
      if (!value[b].is_number_integer()) {
        return error(absl::StrCat(key, "[", b, "]"),
                     absl::StrCat("expected an integer, got ", value[b].dump()));
      }
      list->push_back(value[b].get<int>());
    }
    if (static_cast<int>(list->size()) != model.layers) {
      return error(key, absl::StrCat("expected one entry per layer (", model.layers, "), got ",
                                     list->size()));
    }
    return absl::OkStatus();
  };
  PB_RETURN_IF_ERROR(read_per_block("heads", &model.heads, &model.block_heads));
  PB_RETURN_IF_ERROR(read_per_block("mlp_ratio", &model.mlp_ratio, &model.block_mlp_ratio));
  if (root.contains("dropout")) {
    if (!root["dropout"].is_number() || !(root["dropout"].get<double>() >= 0 &&
                                          root["dropout"].get<double>() < 1)) {
      return error("dropout", absl::StrCat("expected a number in [0, 1), got ",
                                           root["dropout"].dump()));
    }
    model.dropout = root["dropout"].get<double>();
  }
  if (root.contains("tied_embeddings")) {
    if (!root["tied_embeddings"].is_boolean()) {
      return error("tied_embeddings",
                   absl::StrCat("expected true or false, got ", root["tied_embeddings"].dump()));
    }
    model.tied_embeddings = root["tied_embeddings"].get<bool>();
  }
  if (absl::Status s = model.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
  }
  return model;
}

std::string GptConfigToJson(const GptConfig& config, const std::string& description) {
  nlohmann::ordered_json out;
  if (!description.empty()) out["description"] = description;
  out["layers"] = config.layers;
  out["embed"] = config.embed;
  out["heads"] = config.block_heads.empty() ? nlohmann::ordered_json(config.heads)
                                            : nlohmann::ordered_json(config.block_heads);
  out["mlp_ratio"] = config.block_mlp_ratio.empty()
                         ? nlohmann::ordered_json(config.mlp_ratio)
                         : nlohmann::ordered_json(config.block_mlp_ratio);
  out["context"] = config.context;
  out["dropout"] = config.dropout;
  out["tied_embeddings"] = config.tied_embeddings;
  return out.dump(2) + "\n";
}

std::vector<torch::Tensor> InitWeights(const GptConfig& config, UnitRange range,
                                       std::uint64_t seed) {
  std::vector<torch::Tensor> weights;
  for (int unit = range.begin; unit < range.end; ++unit) {
    AppendUnitWeights(config, unit, seed, &weights);
  }
  for (torch::Tensor& w : weights) w.set_requires_grad(true);
  return weights;
}

torch::Tensor ForwardUnits(const GptConfig& config, UnitRange range,
                           const std::vector<torch::Tensor>& weights, const torch::Tensor& input,
                           std::optional<std::uint64_t> dropout_seed) {
  torch::Tensor x = input;
  const torch::Tensor* w = weights.data();
  for (int unit = range.begin; unit < range.end; ++unit) {
    std::optional<at::Generator> gen;
    if (dropout_seed && config.dropout > 0) {
      // Drawn where the activations are: a GPU run's masks come from the GPU's generator.
      gen = MakeGenerator(input.device(), *dropout_seed * 1000003ULL + unit);
    }
    if (unit == 0) {
      const int64_t time = x.size(1);
      x = Dropout(torch::embedding(w[0], x) + w[1].narrow(0, 0, time), config.dropout, gen);
    } else if (unit == config.layers + 1) {
      // A tied head reads the token table, the first tensor of unit 0 on this same stage.
      TORCH_CHECK(!config.tied_embeddings || range.begin == 0,
                  "a tied head needs the embedding unit in its range");
      const torch::Tensor& head = config.tied_embeddings ? weights[0] : w[2];
      x = torch::linear(torch::layer_norm(x, {config.embed}, w[0], w[1]), head);
    } else {
      x = Block(config, unit - 1, w, x, gen);
    }
    w += TensorsOfUnit(config, unit);
  }
  return x;
}

torch::Tensor LanguageModelLoss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

std::vector<bool> WeightDecayMask(const GptConfig& config, UnitRange range) {
  std::vector<bool> mask;
  for (const torch::Tensor& w : InitWeights(config, range, 0)) mask.push_back(w.dim() >= 2);
  return mask;
}

std::int64_t ParameterCount(const std::vector<torch::Tensor>& weights) {
  std::int64_t count = 0;
  for (const torch::Tensor& w : weights) count += w.numel();
  return count;
}

absl::Status GptModel::CheckStages(int stages) const {
  PB_RETURN_IF_ERROR(config_.Validate());
  if (config_.tied_embeddings && stages > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the model ties its head to the token table (tied_embeddings), which needs the embedding "
        "and the head on one stage; ", stages,
        " stages would put them apart (untie them to pipeline this model)"));
  }
  return absl::OkStatus();
}

std::vector<torch::Tensor> GptModel::InitWeights(UnitRange range, std::uint64_t seed) const {
  return pipebench::InitWeights(config_, range, seed);
}

std::vector<bool> GptModel::WeightDecayMask(UnitRange range) const {
  return pipebench::WeightDecayMask(config_, range);
}

torch::Tensor GptModel::Forward(UnitRange range, const std::vector<torch::Tensor>& weights,
                                const torch::Tensor& input,
                                std::optional<std::uint64_t> dropout_seed) const {
  return ForwardUnits(config_, range, weights, input, dropout_seed);
}

std::vector<std::int64_t> GptModel::ActivationShape(int batch) const {
  return {batch, config_.context, config_.embed};
}

double GptModel::ActivationBytes(UnitRange range, int batch) const {
  const double time = config_.context;
  double bytes = 0;
  for (int unit = std::max(range.begin, 1); unit < std::min(range.end, units() - 1); ++unit) {
    bytes += time * batch * config_.embed *
             (34.0 + 5.0 * config_.HeadsOf(unit - 1) * time / config_.embed) * 2.0;
  }
  return bytes;
}

torch::Tensor GptNetwork::Forward(const torch::Tensor& tokens,
                                  std::optional<std::uint64_t> dropout_seed) const {
  return ForwardUnits(config, {0, config.units()}, weights, tokens, dropout_seed);
}

GptNetwork GptNetwork::Clone() const {
  GptNetwork copy{config, {}};
  for (const torch::Tensor& w : weights) {
    copy.weights.push_back(w.detach().clone().set_requires_grad(true));
  }
  return copy;
}

GptNetwork InitNetwork(const GptConfig& config, std::uint64_t seed) {
  return {config, InitWeights(config, {0, config.units()}, seed)};
}

}  // namespace pipebench
