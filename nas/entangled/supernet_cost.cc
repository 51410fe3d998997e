#include "nas/entangled/supernet_cost.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace pipebench {

absl::StatusOr<Mixing> ParseMixing(const std::string& name) {
  if (name == "dense") return Mixing::kDense;
  if (name == "one_hot") return Mixing::kOneHot;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mixing '", name, "' (dense or one_hot)"));
}

std::string MixingName(Mixing mixing) { return mixing == Mixing::kDense ? "dense" : "one_hot"; }

namespace {

Architecture Uniform(const SearchSpace& space, int choice_of_each) {
  auto index = [&](std::size_t n) {
    return choice_of_each < 0 ? static_cast<int>(n) - 1 : choice_of_each;
  };
  const std::size_t depth = static_cast<std::size_t>(space.max_layers());
  return {index(space.embed.size()), index(space.layers.size()),
          std::vector<int>(depth, index(space.heads.size())),
          std::vector<int>(depth, index(space.mlp_ratio.size()))};
}

}  // namespace

struct SupernetTrainingStep::State {
  EntangledGpt supernet;
  Mixing mixing;
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> values;
  std::vector<torch::Tensor> first_moment;
  std::vector<torch::Tensor> second_moment;
  torch::Tensor tokens;
  torch::Tensor targets;
  MixingWeights dense;
  std::mt19937_64 rng;
};

absl::StatusOr<std::unique_ptr<SupernetTrainingStep>> SupernetTrainingStep::Create(
    const SearchSpace& space, const SupernetOptions& network, Mixing mixing, int batch_size,
    std::uint64_t seed) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch_size must be >= 1");
  absl::StatusOr<EntangledGpt> supernet = EntangledGpt::Create(space, seed, network);
  if (!supernet.ok()) return supernet.status();
  torch::manual_seed(seed);
  const torch::Tensor sequence =
      torch::randint(0, space.vocab_size, {batch_size, space.context + 1}, torch::kInt64);
  const std::int64_t depth = space.max_layers();
  auto rows = [](std::int64_t n, std::int64_t k) {
    return torch::softmax(torch::randn(n == 0 ? std::vector<std::int64_t>{k}
                                              : std::vector<std::int64_t>{n, k}),
                          -1);
  };
  auto state = std::make_unique<State>(State{
      *std::move(supernet), mixing, {}, {}, {}, {},
      sequence.narrow(1, 0, space.context), sequence.narrow(1, 1, space.context),
      MixingWeights{rows(0, static_cast<std::int64_t>(space.embed.size())),
                    rows(0, static_cast<std::int64_t>(space.layers.size())),
                    rows(depth, static_cast<std::int64_t>(space.heads.size())),
                    rows(depth, static_cast<std::int64_t>(space.mlp_ratio.size()))},
      std::mt19937_64(seed)});
  state->parameters = state->supernet.parameters();
  for (const torch::Tensor& p : state->parameters) {
    state->values.push_back(p.data());
    state->first_moment.push_back(torch::zeros_like(p));
    state->second_moment.push_back(torch::zeros_like(p));
  }
  return std::unique_ptr<SupernetTrainingStep>(new SupernetTrainingStep(std::move(state)));
}

SupernetTrainingStep::SupernetTrainingStep(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
SupernetTrainingStep::~SupernetTrainingStep() = default;

const EntangledGpt& SupernetTrainingStep::supernet() const { return state_->supernet; }

void SupernetTrainingStep::Run() {
  State& s = *state_;
  const MixingWeights weights = s.mixing == Mixing::kDense
                                    ? s.dense
                                    : OneHot(s.supernet.space(), RandomArchitecture(s.supernet.space(), s.rng));
  const torch::Tensor logits = s.supernet.Mixed(s.tokens, weights, /*training=*/true);
  const torch::Tensor loss = torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                                       s.targets.reshape({-1}));
  std::vector<torch::Tensor> grads =
      torch::autograd::grad({loss}, s.parameters, {}, false, false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < grads.size(); ++i) {  // AdamW at lr 1e-3: the work of a real step
    if (!grads[i].defined()) continue;
    s.first_moment[i].mul_(0.9).add_(grads[i], 0.1);
    s.second_moment[i].mul_(0.99).addcmul_(grads[i], grads[i], 0.01);
    s.values[i].mul_(1 - 1e-4).addcdiv_(s.first_moment[i], s.second_moment[i].sqrt().add_(1e-8),
                                        -1e-3);
  }
}

absl::StatusOr<ResidentMemory> ReadResidentMemory() {
  std::ifstream status("/proc/self/status");
  if (!status) return absl::UnavailableError("cannot read /proc/self/status");
  ResidentMemory memory;
  bool rss = false, hwm = false;
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    std::int64_t kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") memory.rss_bytes = kib * 1024, rss = true;
    if (key == "VmHWM:") memory.high_water_bytes = kib * 1024, hwm = true;
  }
  if (!rss || !hwm) return absl::UnavailableError("/proc/self/status has no VmRSS or VmHWM");
  return memory;
}

absl::Status ResetResidentHighWater() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  if (!clear) {
    return absl::UnavailableError(
        "cannot reset the resident high-water mark (/proc/self/clear_refs)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SupernetCost> MeasureSupernetCost(const SearchSpace& space,
                                                 const SupernetCostOptions& options) {
  if (options.steps < 1 || options.probe_architectures < 0) {
    return absl::InvalidArgumentError("a cost measurement needs steps >= 1");
  }
  absl::StatusOr<std::unique_ptr<SupernetTrainingStep>> step = SupernetTrainingStep::Create(
      space, options.network, options.mixing, options.batch_size, options.seed);
  if (!step.ok()) return step.status();
  SupernetCost cost;
  const EntangledGpt& supernet = (*step)->supernet();
  cost.parameters = supernet.ParameterCount();
  cost.parameter_bytes = cost.parameters * static_cast<std::int64_t>(sizeof(float));
  cost.optimizer_state_bytes = 2 * cost.parameter_bytes;

  (*step)->Run();  // warm-up: first-touch allocations, thread pools
  std::vector<double> seconds;
  for (int i = 0; i < options.steps; ++i) {
    malloc_trim(0);
    absl::StatusOr<ResidentMemory> before = ReadResidentMemory();
    if (!before.ok()) return before.status();
    if (absl::Status reset = ResetResidentHighWater(); !reset.ok()) return reset;
    const auto start = std::chrono::steady_clock::now();
    (*step)->Run();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    absl::StatusOr<ResidentMemory> after = ReadResidentMemory();
    if (!after.ok()) return after.status();
    cost.step_working_bytes =
        std::max(cost.step_working_bytes, after->high_water_bytes - before->rss_bytes);
    cost.peak_rss_bytes = std::max(cost.peak_rss_bytes, after->high_water_bytes);
  }
  std::sort(seconds.begin(), seconds.end());
  cost.step_seconds = seconds[seconds.size() / 2];

  torch::NoGradGuard no_grad;
  std::vector<Architecture> probes = {Uniform(space, 0), Uniform(space, -1)};
  std::mt19937_64 rng(options.seed + 1);
  for (int i = 0; i < options.probe_architectures; ++i) probes.push_back(RandomArchitecture(space, rng));
  const torch::Tensor tokens =
      torch::randint(0, space.vocab_size, {2, space.context}, torch::kInt64);
  for (const Architecture& arch : probes) {
    const torch::Tensor mixed = supernet.Mixed(tokens, OneHot(space, arch));
    const torch::Tensor extracted = supernet.Extract(arch).Forward(tokens);
    cost.one_hot_max_abs_diff =
        std::max(cost.one_hot_max_abs_diff, (mixed - extracted).abs().max().item<double>());
  }
  return cost;
}

}  // namespace pipebench
