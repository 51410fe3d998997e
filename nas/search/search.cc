#include "nas/search/search.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/exec/optimizer.h"
#include "nas/search/retrain.h"

namespace pipebench {
namespace {

using Clock = std::chrono::steady_clock;

// A method's search time: runs while it searches, paused while its any-time curve is measured.
class SearchClock {
 public:
  SearchClock() : started_(Clock::now()) {}
  void Pause() {
    elapsed_ += Since(started_);
    running_ = false;
  }
  void Resume() {
    started_ = Clock::now();
    running_ = true;
  }
  double seconds() const { return elapsed_ + (running_ ? Since(started_) : 0.0); }

 private:
  static double Since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  Clock::time_point started_;
  double elapsed_ = 0;
  bool running_ = true;
};

torch::Tensor LossTensor(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

std::vector<torch::Tensor> Rows(const MixingWeights& w) {
  return {w.embed, w.layers, w.heads, w.mlp_ratio};
}

// Undefined gradients (a parameter the step did not use) become zeros, so the optimizer's
// moments stay aligned with its parameters.
std::vector<torch::Tensor> Gradients(const torch::Tensor& loss,
                                     const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads =
      torch::autograd::grad({loss}, parameters, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(parameters[i]);
  }
  return grads;
}

void Step(AdamW& optimizer, const OptimizerSettings& settings,
          const std::vector<torch::Tensor>& parameters, std::vector<torch::Tensor> grads,
          double lr) {
  if (settings.gradient_clip > 0) ClipGradientNorm(grads, settings.gradient_clip);
  std::vector<torch::Tensor> values;
  for (const torch::Tensor& p : parameters) values.push_back(p.data());
  optimizer.Step(values, grads, lr);
}

// A search in progress: the data, the options and how architectures are scored.
class Search {
 public:
  Search(const SearchSpace& space, const TokenDataset& data, const SearchOptions& options)
      : space_(space), data_(data), options_(options),
        context_(static_cast<int>(space.context)) {}

  absl::StatusOr<SearchResult> Supernet(const std::function<void(const SearchStep&)>& on_step);
  absl::StatusOr<SearchResult> RandomBaseline();

 private:
  // Loss with the supernet's weights on the architecture part (the same batches for every
  // candidate), for SPOS's searches.
  double SelectionLoss(const EntangledGpt& supernet, const Architecture& arch) const {
    torch::NoGradGuard no_grad;
    double total = 0;
    for (int b = 0; b < options_.evaluation_batches; ++b) {
      const TokenBatch batch =
          data_.TrainPartBatch(options_.train_portion, /*second_part=*/true,
                               options_.batch_size, context_, options_.seed, options_.steps + b);
      total += LossTensor(supernet.Fixed(batch.inputs, arch), batch.targets).item<double>();
    }
    return total / std::max(1, options_.evaluation_batches);
  }
  // Appends an any-time point for `arch`: the validation loss of the network `network` returns
  // (extracted from a supernet, or trained on its own), at `offset` plus `clock`'s time; making
  // and evaluating the network stay off the clock.
  void Checkpoint(const std::function<GptNetwork()>& network, const Architecture& arch, int step,
                  double offset, SearchClock& clock, std::vector<AnytimePoint>& curve) const {
    clock.Pause();
    curve.push_back({offset + clock.seconds(), step, ArchitectureToJson(space_, arch),
                     DerivedValidationLoss(network(), data_, context_, options_.batch_size,
                                           options_.evaluation_batches, options_.seed)});
    clock.Resume();
  }
  DerivedArchitecture Derived(const std::string& method, const Architecture& arch,
                              std::vector<AnytimePoint> curve, double search_seconds) const {
    DerivedArchitecture derived;
    derived.method = method;
    derived.architecture = arch;
    derived.architecture_json = ArchitectureToJson(space_, arch);
    derived.parameters =
        DerivedParameterCount(space_, arch, options_.preset.tied_embeddings);
    derived.curve = std::move(curve);
    derived.search_seconds = search_seconds;
    return derived;
  }
  // SPOS's two searches over the trained supernet, each its own derived architecture.
  DerivedArchitecture RandomSearch(const EntangledGpt& supernet, double training_seconds,
                                   std::mt19937_64& rng) const;
  DerivedArchitecture Evolution(const EntangledGpt& supernet, double training_seconds,
                                std::mt19937_64& rng) const;

  const SearchSpace& space_;
  const TokenDataset& data_;
  const SearchOptions& options_;
  const int context_;
};

absl::StatusOr<SearchResult> Search::Supernet(
    const std::function<void(const SearchStep&)>& on_step) {
  const SamplerKind kind = *options_.method;
  auto supernet = EntangledGpt::Create(space_, options_.seed, NetworkOptions(options_));
  if (!supernet.ok()) return supernet.status();
  torch::manual_seed(options_.seed);  // dropout masks
  SearchClock clock;
  at::Generator init = at::make_generator<at::CPUGeneratorImpl>(options_.seed + 1);
  auto small = [&](std::vector<std::int64_t> shape) {
    return at::normal(0.0, 1e-3, shape, init).set_requires_grad(true);
  };
  const std::int64_t depth = space_.max_layers();
  const MixingWeights alpha{small({static_cast<std::int64_t>(space_.embed.size())}),
                            small({static_cast<std::int64_t>(space_.layers.size())}),
                            small({depth, static_cast<std::int64_t>(space_.heads.size())}),
                            small({depth, static_cast<std::int64_t>(space_.mlp_ratio.size())})};
  const std::vector<torch::Tensor> arch_parameters = Rows(alpha);
  const std::vector<torch::Tensor> weights = supernet->parameters();

  const NasPreset& preset = options_.preset;
  OptimizerConfig weight_config = preset.weights.config;
  weight_config.total_steps = options_.steps;
  AdamW weight_optimizer(weight_config, DecayMatricesOnly(weights));
  const OptimizerConfig& arch_config = preset.architecture.config;
  AdamW arch_optimizer(arch_config, std::vector<bool>(arch_parameters.size(), true));

  ArchitectureSampler sampler(kind, options_.seed + 2);
  const bool single_path = kind == SamplerKind::kSpos;
  auto mix = [&](double temperature) {
    std::vector<torch::Tensor> rows;
    for (const torch::Tensor& a : arch_parameters) rows.push_back(sampler.Sample(a, temperature));
    return MixingWeights{rows[0], rows[1], rows[2], rows[3]};
  };

  SearchResult result;
  result.supernet_parameters = supernet->ParameterCount();
  std::vector<AnytimePoint> gradient_curve;
  for (int step = 0; step < options_.steps; ++step) {
    const double temperature =
        GdasTemperature(step, options_.steps, preset.gdas_temperature_start,
                        preset.gdas_temperature_end);
    SearchStep record;
    record.step = step + 1;
    if (!single_path) {
      const TokenBatch batch =
          data_.TrainPartBatch(options_.train_portion, /*second_part=*/true,
                               options_.batch_size, context_, options_.seed, step);
      const torch::Tensor loss = LossTensor(
          supernet->Mixed(batch.inputs, mix(temperature), /*training=*/true), batch.targets);
      record.arch_loss = loss.item<double>();
      Step(arch_optimizer, preset.architecture, arch_parameters,
           Gradients(loss, arch_parameters), arch_config.learning_rate);
    }
    const TokenBatch batch = data_.TrainPartBatch(options_.train_portion, /*second_part=*/false,
                                                  options_.batch_size, context_, options_.seed,
                                                  step);
    const torch::Tensor loss = LossTensor(
        supernet->Mixed(batch.inputs, mix(temperature), /*training=*/true), batch.targets);
    record.weight_loss = loss.item<double>();
    if (!std::isfinite(record.weight_loss)) {
      return absl::InvalidArgumentError(
          absl::StrCat("non-finite supernet loss at search step ", step + 1));
    }
    Step(weight_optimizer, preset.weights, weights, Gradients(loss, weights),
         LearningRate(weight_config, step));
    if (!single_path) {
      record.alpha_distributions = AlphaDistributions(alpha);
      const int done = step + 1;
      const bool checkpoint = (static_cast<std::int64_t>(done) * options_.checkpoints) /
                                  options_.steps !=
                              (static_cast<std::int64_t>(step) * options_.checkpoints) /
                                  options_.steps;
      if (checkpoint) {
        const Architecture now = ArgmaxArchitecture(space_, alpha);
        Checkpoint([&] { return supernet->Extract(now); }, now, done, 0, clock, gradient_curve);
      }
    }
    if (on_step) on_step(record);
    result.steps.push_back(std::move(record));
  }

  if (single_path) {
    const double training_seconds = clock.seconds();
    std::mt19937_64 rng(options_.seed + 3);
    result.derived.push_back(RandomSearch(*supernet, training_seconds, rng));
    result.derived.push_back(Evolution(*supernet, training_seconds, rng));
  } else {
    result.derived.push_back(Derived(SearchMethodName(options_.method),
                                     ArgmaxArchitecture(space_, alpha), std::move(gradient_curve),
                                     clock.seconds()));
  }
  for (DerivedArchitecture& derived : result.derived) {
    derived.network = supernet->Extract(derived.architecture);
  }
  return result;
}

DerivedArchitecture Search::RandomSearch(const EntangledGpt& supernet, double training_seconds,
                                         std::mt19937_64& rng) const {
  SearchClock clock;
  std::pair<double, Architecture> best{std::numeric_limits<double>::infinity(), {}};
  std::vector<AnytimePoint> curve;
  for (int c = 0; c < options_.search_candidates; ++c) {
    const Architecture candidate = RandomArchitecture(space_, rng);
    const double loss = SelectionLoss(supernet, candidate);
    if (c == 0 || loss < best.first) {  // the first always, so a NaN loss still derives one
      best = {loss, candidate};
      Checkpoint([&] { return supernet.Extract(candidate); }, candidate, options_.steps,
                 training_seconds, clock, curve);
    }
  }
  return Derived("spos+random", best.second, std::move(curve),
                 training_seconds + clock.seconds());
}

// Regularised evolution (Real et al. 2019) with the random search's number of evaluations.
DerivedArchitecture Search::Evolution(const EntangledGpt& supernet, double training_seconds,
                                      std::mt19937_64& rng) const {
  SearchClock clock;
  const int population_size = std::max(2, options_.search_candidates / 4);
  std::deque<std::pair<double, Architecture>> population;
  std::pair<double, Architecture> best{std::numeric_limits<double>::infinity(), {}};
  std::vector<AnytimePoint> curve;
  for (int c = 0; c < options_.search_candidates; ++c) {
    Architecture candidate;
    if (static_cast<int>(population.size()) < population_size) {
      candidate = RandomArchitecture(space_, rng);
    } else {
      const std::pair<double, Architecture>* parent = nullptr;
      for (int t = 0; t < std::min(8, population_size); ++t) {
        const auto& contender = population[rng() % population.size()];
        if (parent == nullptr || contender.first < parent->first) parent = &contender;
      }
      candidate = parent->second;
      const Architecture fresh = RandomArchitecture(space_, rng);  // source of mutated values
      const std::int64_t layer = static_cast<std::int64_t>(rng() % space_.max_layers());
      switch (rng() % 4) {
        case 0: candidate.embed = fresh.embed; break;
        case 1: candidate.layers = fresh.layers; break;
        case 2: candidate.heads[layer] = fresh.heads[layer]; break;
        default: candidate.mlp_ratio[layer] = fresh.mlp_ratio[layer]; break;
      }
      population.pop_front();
    }
    population.emplace_back(SelectionLoss(supernet, candidate), candidate);
    if (c == 0 || population.back().first < best.first) {
      best = population.back();
      Checkpoint([&] { return supernet.Extract(candidate); }, candidate, options_.steps,
                 training_seconds, clock, curve);
    }
  }
  return Derived("spos+evolution", best.second, std::move(curve),
                 training_seconds + clock.seconds());
}

absl::StatusOr<SearchResult> Search::RandomBaseline() {
  const int count = options_.random_architectures;
  const int steps_each = std::max(1, options_.steps / count);
  const SupernetOptions network_options = NetworkOptions(options_);
  RetrainOptions training;
  training.steps = steps_each;
  training.batch_size = options_.batch_size;
  training.seed = options_.seed;
  training.optimizer = options_.preset.weights;
  training.train_portion = options_.train_portion;
  std::mt19937_64 rng(options_.seed + 3);
  SearchClock clock;
  double best_loss = std::numeric_limits<double>::infinity();
  Architecture best;
  std::optional<GptNetwork> best_network;
  std::vector<AnytimePoint> curve;
  for (int i = 0; i < count; ++i) {
    const Architecture arch = RandomArchitecture(space_, rng);
    GptNetwork network = FreshNetwork(space_, arch, network_options, options_.seed * 7919 + i);
    TrainNetwork(network, data_, context_, training);
    const double loss = DerivedSelectionLoss(network, data_, context_, options_.batch_size,
                                             options_.evaluation_batches, options_.train_portion,
                                             options_.seed, options_.steps);
    if (i == 0 || loss < best_loss) {
      best_loss = loss;
      best = arch;
      Checkpoint([&] { return network.Clone(); }, arch, (i + 1) * steps_each, 0, clock, curve);
      best_network = std::move(network);
    }
  }
  SearchResult result;
  result.derived.push_back(Derived("random", best, std::move(curve), clock.seconds()));
  result.derived.back().network = std::move(best_network);
  return result;
}

}  // namespace

absl::StatusOr<SearchMethod> ParseSearchMethod(const std::string& name) {
  if (name == "random") return SearchMethod();
  absl::StatusOr<SamplerKind> sampler = ParseSamplerKind(name);
  if (!sampler.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown search method '", name,
        "'; known: darts, darts_sparsemax, drnas, gdas, spos, random"));
  }
  return SearchMethod(*sampler);
}

std::string SearchMethodName(const SearchMethod& method) {
  if (!method) return "random";
  switch (*method) {
    case SamplerKind::kDartsSoftmax: return "darts";
    case SamplerKind::kDartsSparsemax: return "darts_sparsemax";
    case SamplerKind::kDrnas: return "drnas";
    case SamplerKind::kGdas: return "gdas";
    case SamplerKind::kSpos: return "spos";
  }
  return "unknown";
}

SupernetOptions NetworkOptions(const SearchOptions& options) {
  SupernetOptions network;
  network.storage = options.storage;
  network.attention = options.attention;
  network.dropout = options.preset.dropout;
  network.tied_embeddings = options.preset.tied_embeddings;
  return network;
}

nlohmann::json AlphaDistributions(const MixingWeights& alpha) {
  auto rows = [](const torch::Tensor& t) {
    const torch::Tensor p = torch::softmax(t.detach(), -1).contiguous();
    const std::vector<float> flat(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    if (p.dim() == 1) return nlohmann::json(flat);
    nlohmann::json out = nlohmann::json::array();
    for (std::int64_t r = 0; r < p.size(0); ++r) {
      out.push_back(std::vector<float>(flat.begin() + r * p.size(1),
                                       flat.begin() + (r + 1) * p.size(1)));
    }
    return out;
  };
  return {{"embed", rows(alpha.embed)},
          {"layers", rows(alpha.layers)},
          {"heads", rows(alpha.heads)},
          {"mlp_ratio", rows(alpha.mlp_ratio)}};
}

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
  if (options.search_candidates < 1 || options.random_architectures < 1 ||
      options.checkpoints < 1 || options.evaluation_batches < 1) {
    return absl::InvalidArgumentError(
        "search needs search_candidates, random_architectures, checkpoints and "
        "evaluation_batches >= 1");
  }
  Search search(space, data, options);
  return options.method ? search.Supernet(on_step) : search.RandomBaseline();
}

}  // namespace pipebench
