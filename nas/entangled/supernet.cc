#include "nas/entangled/supernet.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/util/json_text.h"
#include "engine/util/workspace.h"
#include "nlohmann/json.hpp"

namespace pipebench {
namespace {

constexpr double kInitStd = 0.02;

torch::Tensor Dropout(const torch::Tensor& x, double p) {
  return p > 0 ? torch::dropout(x, p, /*train=*/true) : x;
}

// MLP candidates are (embed, ratio) pairs, embed-major: index = embed * |ratios| + ratio.
std::vector<LinearShape> MlpShapes(const SearchSpace& space, bool into_hidden) {
  std::vector<LinearShape> shapes;
  for (std::int64_t e : space.embed) {
    for (std::int64_t r : space.mlp_ratio) {
      shapes.push_back(into_hidden ? LinearShape{e * r, e} : LinearShape{e, e * r});
    }
  }
  return shapes;
}

}  // namespace

std::int64_t SearchSpace::max_layers() const {
  return layers.empty() ? 0 : *std::max_element(layers.begin(), layers.end());
}

absl::Status SearchSpace::Validate() const {
  for (const auto& [name, values] :
       {std::pair<const char*, const std::vector<std::int64_t>*>{"embed", &embed},
        {"heads", &heads},
        {"mlp_ratio", &mlp_ratio},
        {"layers", &layers}}) {
    if (values->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("search space '", name, "' has no choices"));
    }
    for (std::int64_t v : *values) {
      if (v < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("search space '", name, "' choice ", v, " must be >= 1"));
      }
    }
  }
  if (context < 1 || vocab_size < 1) {
    return absl::InvalidArgumentError("search space context and vocabulary must be >= 1");
  }
  for (std::int64_t e : embed) {
    for (std::int64_t h : heads) {
      if (e % h != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("search space embed ", e, " is not divisible by heads ", h));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SearchSpace> LoadSearchSpace(const std::string& path, std::int64_t vocab_size,
                                            const std::string& what) {
  const std::string resolved = ResolvePath(path);
  std::ifstream in(resolved);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", what, " '", resolved, "'"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseSearchSpace(text.str(), vocab_size);
}

absl::StatusOr<SearchSpace> ParseSearchSpace(const std::string& json_text,
                                             std::int64_t vocab_size) {
  SearchSpace space;
  space.vocab_size = vocab_size;
  absl::StatusOr<nlohmann::json> parsed = ParseJsonText(json_text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("search space is not valid JSON: ", parsed.status().message()));
  }
  const nlohmann::json& root = *parsed;
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("search space must be a JSON object, got ", root.type_name()));
  }
  const std::set<std::string> allowed = {"description", "embed", "heads", "mlp_ratio", "layers",
                                         "context"};
  for (const auto& [key, value] : root.items()) {
    if (allowed.count(key) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown search-space key '", key, "'"));
    }
  }
  // Each choice list by name: a wrong type is an error naming the field and the entry.
  for (const auto& [key, out] : {std::pair<const char*, std::vector<std::int64_t>*>{
                                     "embed", &space.embed},
                                 {"heads", &space.heads},
                                 {"mlp_ratio", &space.mlp_ratio},
                                 {"layers", &space.layers}}) {
    if (!root.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat("search space needs '", key, "'"));
    }
    const nlohmann::json& list = root[key];
    if (!list.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat("search space ", key,
                                                     ": expected a list of integers, got ",
                                                     list.type_name()));
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat("search space ", key, "[", i,
                                                       "]: expected an integer, got ",
                                                       list[i].dump()));
      }
      out->push_back(list[i].get<std::int64_t>());
    }
  }
  if (root.contains("context")) {
    if (!root["context"].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "search space context: expected an integer, got ", root["context"].dump()));
    }
    space.context = root["context"].get<std::int64_t>();
  } else {
    space.context = 64;
  }
  if (absl::Status s = space.Validate(); !s.ok()) return s;
  return space;
}

std::int64_t DerivedParameterCount(const SearchSpace& space, const Architecture& arch,
                                   bool tied_embeddings) {
  const std::int64_t e = space.embed[arch.embed];
  std::int64_t count = (space.vocab_size + space.context) * e;  // token and position tables
  for (std::int64_t l = 0; l < space.layers[arch.layers]; ++l) {
    const std::int64_t hidden = e * space.mlp_ratio[arch.mlp_ratio[l]];
    count += 4 * e * e + 4 * e;                    // q, k, v, output projections
    count += 2 * e * hidden + hidden + e;          // MLP
    count += 4 * e;                                // two LayerNorms
  }
  const std::int64_t head_weight = tied_embeddings ? 0 : space.vocab_size * e;
  return count + 2 * e + head_weight;  // final norm, head
}

Architecture RandomArchitecture(const SearchSpace& space, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return static_cast<int>(rng() % n); };
  Architecture arch{pick(space.embed.size()), pick(space.layers.size()), {}, {}};
  for (std::int64_t l = 0; l < space.max_layers(); ++l) {
    arch.heads.push_back(pick(space.heads.size()));
    arch.mlp_ratio.push_back(pick(space.mlp_ratio.size()));
  }
  return arch;
}

MixingWeights OneHot(const SearchSpace& space, const Architecture& arch) {
  auto one_hot = [](int index, std::size_t n) {
    return torch::one_hot(torch::tensor(static_cast<std::int64_t>(index)),
                          static_cast<std::int64_t>(n))
        .to(torch::kFloat);
  };
  std::vector<torch::Tensor> heads;
  std::vector<torch::Tensor> ratios;
  for (std::int64_t l = 0; l < space.max_layers(); ++l) {
    heads.push_back(one_hot(arch.heads[l], space.heads.size()));
    ratios.push_back(one_hot(arch.mlp_ratio[l], space.mlp_ratio.size()));
  }
  return {one_hot(arch.embed, space.embed.size()), one_hot(arch.layers, space.layers.size()),
          torch::stack(heads), torch::stack(ratios)};
}

absl::StatusOr<EntangledGpt> EntangledGpt::Create(const SearchSpace& space, std::uint64_t seed,
                                                  const SupernetOptions& options) {
  if (absl::Status s = space.Validate(); !s.ok()) return s;
  if (!(options.dropout >= 0 && options.dropout < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dropout ", options.dropout, " must be in [0, 1)"));
  }
  const WeightStorage storage = options.storage;
  std::uint64_t stream = seed * 7919;
  auto tokens =
      EntangledEmbedding::Create(space.vocab_size, space.embed, kInitStd, stream++, storage);
  auto positions =
      EntangledEmbedding::Create(space.context, space.embed, kInitStd, stream++, storage);
  if (!tokens.ok()) return tokens.status();
  if (!positions.ok()) return positions.status();
  std::vector<Layer> layers;
  for (std::int64_t l = 0; l < space.max_layers(); ++l) {
    auto norm1 = EntangledLayerNorm::Create(space.embed, storage);
    auto attention =
        EntangledAttention::Create(space.embed, space.heads, kInitStd, stream++, storage,
                                   options.attention);
    auto norm2 = EntangledLayerNorm::Create(space.embed, storage);
    auto mlp_in = EntangledLinear::Create(MlpShapes(space, true), kInitStd, stream++, storage);
    auto mlp_out = EntangledLinear::Create(MlpShapes(space, false), kInitStd, stream++, storage);
    if (!attention.ok()) return attention.status();
    if (!mlp_in.ok()) return mlp_in.status();
    if (!mlp_out.ok()) return mlp_out.status();
    layers.push_back(
        Layer{*std::move(norm1), *std::move(attention), *std::move(norm2), *std::move(mlp_in),
              *std::move(mlp_out)});
  }
  std::vector<LinearShape> head_shapes;
  for (std::int64_t e : space.embed) head_shapes.push_back({space.vocab_size, e});
  auto final_norm = EntangledLayerNorm::Create(space.embed, storage);
  auto head = options.tied_embeddings
                  ? EntangledLinear::CreateSharingWeights(head_shapes, tokens->parameters(),
                                                          storage)
                  : EntangledLinear::Create(head_shapes, kInitStd, stream++, storage,
                                            /*with_bias=*/false);
  if (!head.ok()) return head.status();
  return EntangledGpt(space, options, *std::move(tokens), *std::move(positions),
                      std::move(layers), *std::move(final_norm), *std::move(head));
}

torch::Tensor EntangledGpt::Mixed(const torch::Tensor& tokens, const MixingWeights& w,
                                  bool training) const {
  return MixedUnits(0, units(), nullptr, {tokens, {}}, w, training ? options_.dropout : 0.0).x;
}

EntangledGpt::MixedState EntangledGpt::MixedUnits(int begin, int end,
                                                  const std::vector<torch::Tensor>* params,
                                                  MixedState state, const MixingWeights& w,
                                                  double p) const {
  size_t next = 0;
  // `module` itself, or a copy computing with the next of `params`.
  auto take = [&](const auto& module) {
    if (params == nullptr) return module;
    const size_t count = module.parameters().size();
    TORCH_CHECK(next + count <= params->size(), "MixedUnits: too few parameters for units [",
                begin, ", ", end, ")");
    std::vector<torch::Tensor> mine(params->begin() + next, params->begin() + next + count);
    next += count;
    return module.WithParameters(std::move(mine));
  };
  for (int unit = begin; unit < end; ++unit) {
    if (unit == 0) {
      const EntangledEmbedding tokens = take(tokens_);
      const EntangledEmbedding positions = take(positions_);
      const torch::Tensor ids = state.x;
      const torch::Tensor where = torch::arange(ids.size(1), torch::kInt64);
      state.x = Dropout(tokens.Mixed(ids, w.embed) + positions.Mixed(where, w.embed), p);
      state.by_depth = torch::zeros_like(state.x);
    } else if (unit == units() - 1) {
      const EntangledLayerNorm norm = take(final_norm_);
      const EntangledLinear head = options_.tied_embeddings ? head_ : take(head_);
      state.x = head.Mixed(norm.Mixed(state.by_depth, w.embed), w.embed);
      state.by_depth = torch::Tensor();
    } else {
      const int l = unit - 1;
      const Layer& layer = layers_[l];
      const EntangledLayerNorm norm1 = take(layer.norm1);
      const EntangledAttention attention = take(layer.attention);
      const EntangledLayerNorm norm2 = take(layer.norm2);
      const EntangledLinear mlp_in = take(layer.mlp_in);
      const EntangledLinear mlp_out = take(layer.mlp_out);
      torch::Tensor x = state.x;
      x = x + Dropout(attention.Mixed(norm1.Mixed(x, w.embed), w.embed, w.heads[l], p), p);
      const torch::Tensor joint = torch::outer(w.embed, w.mlp_ratio[l]).flatten();
      x = x + Dropout(
                  mlp_out.Mixed(torch::gelu(mlp_in.Mixed(norm2.Mixed(x, w.embed), joint)), joint),
                  p);
      for (size_t k = 0; k < space_.layers.size(); ++k) {
        if (space_.layers[k] == l + 1) state.by_depth = state.by_depth + w.layers[k] * x;
      }
      state.x = x;
    }
  }
  TORCH_CHECK(params == nullptr || next == params->size(), "MixedUnits: ", params->size(),
              " parameters for units [", begin, ", ", end, ") that have ", next);
  return state;
}

torch::Tensor EntangledGpt::Fixed(const torch::Tensor& tokens, const Architecture& arch,
                                  bool training) const {
  const double p = training ? options_.dropout : 0.0;
  const torch::Tensor positions = torch::arange(tokens.size(1), torch::kInt64);
  torch::Tensor x =
      Dropout(tokens_.Fixed(tokens, arch.embed) + positions_.Fixed(positions, arch.embed), p);
  const int ratios = static_cast<int>(space_.mlp_ratio.size());
  for (std::int64_t l = 0; l < space_.layers[arch.layers]; ++l) {
    const Layer& layer = layers_[l];
    x = x + Dropout(layer.attention.Fixed(layer.norm1.Fixed(x, arch.embed), arch.embed,
                                          arch.heads[l], p),
                    p);
    const int mlp = arch.embed * ratios + arch.mlp_ratio[l];
    x = x + Dropout(layer.mlp_out.Fixed(
                        torch::gelu(layer.mlp_in.Fixed(layer.norm2.Fixed(x, arch.embed), mlp)),
                        mlp),
                    p);
  }
  return head_.Fixed(final_norm_.Fixed(x, arch.embed), arch.embed);
}

GptConfig DerivedConfig(const SearchSpace& space, const Architecture& arch,
                        const SupernetOptions& options) {
  GptConfig config;
  config.vocab_size = static_cast<int>(space.vocab_size);
  config.layers = static_cast<int>(space.layers[arch.layers]);
  config.embed = static_cast<int>(space.embed[arch.embed]);
  for (int l = 0; l < config.layers; ++l) {
    config.block_heads.push_back(static_cast<int>(space.heads[arch.heads[l]]));
    config.block_mlp_ratio.push_back(static_cast<int>(space.mlp_ratio[arch.mlp_ratio[l]]));
  }
  config.heads = config.block_heads[0];
  config.mlp_ratio = config.block_mlp_ratio[0];
  config.context = static_cast<int>(space.context);
  config.dropout = options.dropout;
  config.tied_embeddings = options.tied_embeddings;
  return config;
}

GptNetwork EntangledGpt::Extract(const Architecture& arch) const {
  GptNetwork network{DerivedConfig(space_, arch, options_), {}};
  std::vector<torch::Tensor>& w = network.weights;
  auto append = [&](const std::vector<torch::Tensor>& more) {
    w.insert(w.end(), more.begin(), more.end());
  };
  w.push_back(tokens_.Extract(arch.embed));
  w.push_back(positions_.Extract(arch.embed));
  const int ratios = static_cast<int>(space_.mlp_ratio.size());
  for (int l = 0; l < network.config.layers; ++l) {
    const Layer& layer = layers_[l];
    const int mlp = arch.embed * ratios + arch.mlp_ratio[l];
    append(layer.norm1.Extract(arch.embed));
    // {wq, bq, wk, bk, wv, bv, wo, bo} -> the fused q/k/v projection, then the output one.
    const std::vector<torch::Tensor> a = layer.attention.Extract(arch.embed, arch.heads[l]);
    w.push_back(torch::cat({a[0], a[2], a[4]}));
    w.push_back(torch::cat({a[1], a[3], a[5]}));
    w.push_back(a[6]);
    w.push_back(a[7]);
    append(layer.norm2.Extract(arch.embed));
    append(layer.mlp_in.Extract(mlp));
    append(layer.mlp_out.Extract(mlp));
  }
  append(final_norm_.Extract(arch.embed));
  if (!options_.tied_embeddings) append(head_.Extract(arch.embed));  // a tied head is the table
  for (torch::Tensor& t : w) t.set_requires_grad(true);
  return network;
}

std::vector<torch::Tensor> EntangledGpt::UnitParameters(int unit) const {
  std::vector<torch::Tensor> params;
  auto append = [&](const std::vector<torch::Tensor>& more) {
    params.insert(params.end(), more.begin(), more.end());
  };
  if (unit == 0) {
    append(tokens_.parameters());
    append(positions_.parameters());
  } else if (unit == units() - 1) {
    append(final_norm_.parameters());
    append(head_.parameters());
  } else {
    const Layer& layer = layers_.at(unit - 1);
    append(layer.norm1.parameters());
    append(layer.attention.parameters());
    append(layer.norm2.parameters());
    append(layer.mlp_in.parameters());
    append(layer.mlp_out.parameters());
  }
  return params;
}

std::vector<torch::Tensor> EntangledGpt::parameters() const {
  std::vector<torch::Tensor> params;
  for (int unit = 0; unit < units(); ++unit) {
    const std::vector<torch::Tensor> more = UnitParameters(unit);
    params.insert(params.end(), more.begin(), more.end());
  }
  return params;
}

std::int64_t EntangledGpt::ParameterCount() const {
  std::int64_t count = 0;
  for (const torch::Tensor& p : parameters()) count += p.numel();
  return count;
}

}  // namespace pipebench
