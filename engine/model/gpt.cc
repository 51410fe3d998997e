#include "engine/model/gpt.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

constexpr int kEmbeddingTensors = 2;  // token table, position table
constexpr int kBlockTensors = 12;
constexpr int kHeadTensors = 3;  // final norm weight and bias, head matrix

int TensorsOfUnit(const GptConfig& config, int unit) {
  if (unit == 0) return kEmbeddingTensors;
  if (unit == config.layers + 1) return kHeadTensors;
  return kBlockTensors;
}

torch::Tensor Normal(at::Generator& gen, std::vector<int64_t> shape, double std) {
  return at::normal(0.0, std, shape, gen);
}

void AppendUnitWeights(const GptConfig& config, int unit, std::uint64_t seed,
                       std::vector<torch::Tensor>* out) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + unit);
  const int64_t d = config.embed;
  const int64_t hidden = d * config.mlp_ratio;
  const double std = 0.02;
  // GPT-2: residual projections shrink with depth so the residual stream's variance stays put.
  const double residual_std = std / std::sqrt(2.0 * config.layers);
  if (unit == 0) {
    out->push_back(Normal(gen, {config.vocab_size, d}, std));
    out->push_back(Normal(gen, {config.context, d}, std));
  } else if (unit == config.layers + 1) {
    out->push_back(torch::ones({d}));
    out->push_back(torch::zeros({d}));
    out->push_back(Normal(gen, {config.vocab_size, d}, std));
  } else {
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
  const torch::Tensor keep = at::bernoulli(torch::full(x.sizes(), 1.0 - p), *gen);
  return x * keep / (1.0 - p);
}

torch::Tensor Block(const GptConfig& config, const torch::Tensor* w, const torch::Tensor& x,
                    std::optional<at::Generator>& gen) {
  const int64_t batch = x.size(0);
  const int64_t time = x.size(1);
  const int64_t d = config.embed;
  const int64_t head_dim = d / config.heads;
  torch::Tensor h = torch::layer_norm(x, {d}, w[0], w[1]);
  std::vector<torch::Tensor> qkv = torch::linear(h, w[2], w[3]).chunk(3, -1);
  auto heads = [&](const torch::Tensor& t) {
    return t.view({batch, time, config.heads, head_dim}).transpose(1, 2);
  };
  torch::Tensor q = heads(qkv[0]);
  torch::Tensor k = heads(qkv[1]);
  torch::Tensor v = heads(qkv[2]);
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(head_dim)));
  torch::Tensor future = torch::ones({time, time}, torch::kBool).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  torch::Tensor attended = torch::matmul(torch::softmax(scores, -1), v);
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
  if (embed % heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model embed (", embed, ") must be divisible by heads (", heads, ")"));
  }
  return absl::OkStatus();
}

std::string GptConfig::Describe() const {
  return absl::StrCat("layers=", layers, " embed=", embed, " heads=", heads,
                      " mlp_ratio=", mlp_ratio, " context=", context, " vocab=", vocab_size,
                      dropout > 0 ? absl::StrCat(" dropout=", dropout) : "");
}

absl::StatusOr<GptConfig> ParseGptConfig(const std::string& text, int vocab_size) {
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
          "' (known: layers, embed, heads, mlp_ratio, context, dropout)"));
    }
  }
  PB_RETURN_IF_ERROR(model.Validate());
  return model;
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
      gen = at::make_generator<at::CPUGeneratorImpl>(*dropout_seed * 1000003ULL + unit);
    }
    if (unit == 0) {
      const int64_t time = x.size(1);
      x = Dropout(torch::embedding(w[0], x) + w[1].narrow(0, 0, time), config.dropout, gen);
    } else if (unit == config.layers + 1) {
      x = torch::linear(torch::layer_norm(x, {config.embed}, w[0], w[1]), w[2]);
    } else {
      x = Block(config, w, x, gen);
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

}  // namespace pipebench
