#include "nas/search/search.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <deque>
#include <cmath>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "engine/exec/optimizer.h"

namespace pipebench {
namespace {

double LanguageModelLoss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}))
      .item<double>();
}

torch::Tensor LossTensor(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

std::vector<torch::Tensor> Rows(const MixingWeights& w) {
  return {w.embed, w.layers, w.heads, w.mlp_ratio};
}

nlohmann::json Distributions(const MixingWeights& alpha) {
  auto rows = [](const torch::Tensor& t) {
    const torch::Tensor p = torch::softmax(t.detach(), -1).contiguous();
    std::vector<float> flat(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    return p.dim() == 1 ? nlohmann::json(flat)
                        : nlohmann::json(std::vector<std::vector<float>>(
                              [&] {
                                std::vector<std::vector<float>> out;
                                for (std::int64_t r = 0; r < p.size(0); ++r) {
                                  out.emplace_back(flat.begin() + r * p.size(1),
                                                   flat.begin() + (r + 1) * p.size(1));
                                }
                                return out;
                              }()));
  };
  return {{"embed", rows(alpha.embed)},
          {"layers", rows(alpha.layers)},
          {"heads", rows(alpha.heads)},
          {"mlp_ratio", rows(alpha.mlp_ratio)}};
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

}  // namespace

Architecture ArgmaxArchitecture(const SearchSpace& space, const MixingWeights& alpha) {
  Architecture arch{static_cast<int>(alpha.embed.argmax().item<std::int64_t>()),
                    static_cast<int>(alpha.layers.argmax().item<std::int64_t>()),
                    {},
                    {}};
  for (std::int64_t l = 0; l < space.max_layers(); ++l) {
    arch.heads.push_back(static_cast<int>(alpha.heads[l].argmax().item<std::int64_t>()));
    arch.mlp_ratio.push_back(static_cast<int>(alpha.mlp_ratio[l].argmax().item<std::int64_t>()));
  }
  return arch;
}

nlohmann::json ArchitectureToJson(const SearchSpace& space, const Architecture& arch) {
  const std::int64_t depth = space.layers[arch.layers];
  std::vector<std::int64_t> heads;
  std::vector<std::int64_t> ratios;
  for (std::int64_t l = 0; l < depth; ++l) {
    heads.push_back(space.heads[arch.heads[l]]);
    ratios.push_back(space.mlp_ratio[arch.mlp_ratio[l]]);
  }
  return {{"embed", space.embed[arch.embed]},
          {"layers", depth},
          {"heads", heads},
          {"mlp_ratio", ratios}};
}

absl::StatusOr<SearchResult> RunSearch(const SearchSpace& space, const TokenDataset& data,
                                       const SearchOptions& options,
                                       const std::function<void(const SearchStep&)>& on_step) {
  if (space.vocab_size < data.vocab_size()) {
    return absl::InvalidArgumentError(absl::StrCat("search space vocabulary ", space.vocab_size,
                                                   " is smaller than the data's ",
                                                   data.vocab_size()));
  }
  if (options.steps < 1 || options.batch_size < 1 ||
      !(options.train_portion > 0 && options.train_portion < 1)) {
    return absl::InvalidArgumentError(
        "search needs steps >= 1, batch_size >= 1 and 0 < train_portion < 1");
  }
  auto supernet = EntangledGpt::Create(space, options.seed, options.storage);
  if (!supernet.ok()) return supernet.status();
  const auto start = std::chrono::steady_clock::now();
  at::Generator init = at::make_generator<at::CPUGeneratorImpl>(options.seed + 1);
  auto small = [&](std::vector<std::int64_t> shape) {
    return at::normal(0.0, 1e-3, shape, init).set_requires_grad(true);
  };
  const std::int64_t depth = space.max_layers();
  const MixingWeights alpha{small({static_cast<std::int64_t>(space.embed.size())}),
                            small({static_cast<std::int64_t>(space.layers.size())}),
                            small({depth, static_cast<std::int64_t>(space.heads.size())}),
                            small({depth, static_cast<std::int64_t>(space.mlp_ratio.size())})};
  const std::vector<torch::Tensor> arch_parameters = Rows(alpha);
  const std::vector<torch::Tensor> weights = supernet->parameters();

  const OptimizerConfig weight_config = ConfigForRun(options.weight_lr, options.steps);
  AdamW weight_optimizer(weight_config, DecayMatricesOnly(weights));
  OptimizerConfig arch_config;
  arch_config.learning_rate = options.arch_lr;
  arch_config.beta1 = 0.5;
  arch_config.beta2 = 0.999;
  arch_config.weight_decay = 1e-3;
  arch_config.warmup_steps = 0;
  arch_config.min_lr_ratio = 1.0;  // constant
  AdamW arch_optimizer(arch_config, std::vector<bool>(arch_parameters.size(), true));

  ArchitectureSampler sampler(options.optimizer, options.seed + 2);
  const bool single_path = options.optimizer == SamplerKind::kSpos;
  auto mix = [&](double temperature) {
    std::vector<torch::Tensor> rows;
    for (const torch::Tensor& a : arch_parameters) rows.push_back(sampler.Sample(a, temperature));
    return MixingWeights{rows[0], rows[1], rows[2], rows[3]};
  };
  auto step_with = [](AdamW& optimizer, const std::vector<torch::Tensor>& parameters,
                      const std::vector<torch::Tensor>& grads, double lr) {
    std::vector<torch::Tensor> data;
    for (const torch::Tensor& p : parameters) data.push_back(p.data());
    optimizer.Step(data, grads, lr);
  };

  SearchResult result;
  result.supernet_parameters = supernet->ParameterCount();
  const int context = static_cast<int>(space.context);
  for (int step = 0; step < options.steps; ++step) {
    const double temperature = GdasTemperature(step, options.steps);
    SearchStep record;
    record.step = step + 1;
    if (!single_path) {
      const TokenBatch batch = data.TrainPartBatch(options.train_portion, /*second_part=*/true,
                                                   options.batch_size, context, options.seed, step);
      const torch::Tensor loss = LossTensor(supernet->Mixed(batch.inputs, mix(temperature)),
                                            batch.targets);
      record.arch_loss = loss.item<double>();
      step_with(arch_optimizer, arch_parameters,
                torch::autograd::grad({loss}, arch_parameters, {}, false, false, true),
                options.arch_lr);
    }
    const TokenBatch batch = data.TrainPartBatch(options.train_portion, /*second_part=*/false,
                                                 options.batch_size, context, options.seed, step);
    const torch::Tensor loss =
        LossTensor(supernet->Mixed(batch.inputs, mix(temperature)), batch.targets);
    record.weight_loss = loss.item<double>();
    if (!std::isfinite(record.weight_loss)) {
      return absl::InvalidArgumentError(
          absl::StrCat("non-finite supernet loss at search step ", step + 1));
    }
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, weights, {}, false, false, true);
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) grads[i] = torch::zeros_like(weights[i]);
    }
    step_with(weight_optimizer, weights, grads, LearningRate(weight_config, step));
    record.alpha_distributions = Distributions(alpha);
    if (on_step) on_step(record);
    result.steps.push_back(std::move(record));
  }

  if (single_path) {
    torch::NoGradGuard no_grad;
    auto evaluate = [&](const Architecture& candidate) {
      double loss = 0;
      for (int b = 0; b < 4; ++b) {
        const TokenBatch batch = data.TrainPartBatch(options.train_portion, true,
                                                     options.batch_size, context, options.seed,
                                                     options.steps + b);
        loss += LanguageModelLoss(supernet->Fixed(batch.inputs, candidate), batch.targets) / 4;
      }
      return loss;
    };
    std::mt19937_64 rng(options.seed + 3);
    // Random search.
    std::pair<double, Architecture> random_best{std::numeric_limits<double>::infinity(), {}};
    for (int c = 0; c < options.search_candidates; ++c) {
      const Architecture candidate = RandomArchitecture(space, rng);
      random_best = std::min(random_best, {evaluate(candidate), candidate},
                             [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    // Regularised evolution (Real et al. 2019) with the same number of evaluations.
    const int population_size = std::max(2, options.search_candidates / 4);
    std::deque<std::pair<double, Architecture>> population;
    std::pair<double, Architecture> evolution_best{std::numeric_limits<double>::infinity(), {}};
    auto keep_best = [&](const std::pair<double, Architecture>& entry) {
      if (entry.first < evolution_best.first) evolution_best = entry;
    };
    for (int c = 0; c < options.search_candidates; ++c) {
      Architecture candidate;
      if (static_cast<int>(population.size()) < population_size) {
        candidate = RandomArchitecture(space, rng);
      } else {
        const std::pair<double, Architecture>* parent = nullptr;
        for (int t = 0; t < std::min(8, population_size); ++t) {
          const auto& contender = population[rng() % population.size()];
          if (parent == nullptr || contender.first < parent->first) parent = &contender;
        }
        candidate = parent->second;
        const Architecture fresh = RandomArchitecture(space, rng);  // source of mutated values
        const std::int64_t layer = static_cast<std::int64_t>(rng() % space.max_layers());
        switch (rng() % 4) {
          case 0: candidate.embed = fresh.embed; break;
          case 1: candidate.layers = fresh.layers; break;
          case 2: candidate.heads[layer] = fresh.heads[layer]; break;
          default: candidate.mlp_ratio[layer] = fresh.mlp_ratio[layer]; break;
        }
        population.pop_front();
      }
      population.emplace_back(evaluate(candidate), candidate);
      keep_best(population.back());
    }
    result.derived = evolution_best.second;
    result.spos_searches = {
        {"random", {{"architecture", ArchitectureToJson(space, random_best.second)},
                    {"loss", random_best.first}}},
        {"evolution", {{"architecture", ArchitectureToJson(space, evolution_best.second)},
                       {"loss", evolution_best.first}}}};
  } else {
    result.derived = ArgmaxArchitecture(space, alpha);
  }
  result.derived_json = ArchitectureToJson(space, result.derived);
  result.derived_network = supernet->Extract(result.derived);
  result.search_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace pipebench
