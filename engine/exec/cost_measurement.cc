#include "engine/exec/cost_measurement.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "engine/platform/device.h"
#include "engine/util/status_macros.h"

namespace pipebench {

double Median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

namespace {

double Seconds(const std::function<void()>& run, const torch::Device& device) {
  const auto start = std::chrono::steady_clock::now();
  run();
  Synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times every variant once per round, round after round, and keeps each variant's median.
// Interleaving means a burst of outside load (a noisy neighbour, a BLAS thread waking) lands on
// all variants - of every stage, when they are measured together - alike instead of inflating
// one; differences of medians then stay meaningful. Millisecond-scale stages see 10x spikes on a
// shared 2-core VM, and measuring stages one after another gave identical blocks 40% apart.
std::vector<double> InterleavedMedians(const MeasurementOptions& options,
                                       const std::vector<std::function<void()>>& variants) {
  for (int i = 0; i < options.warmup; ++i) {
    for (const auto& run : variants) run();
  }
  Synchronize(options.device);
  std::vector<std::vector<double>> times(variants.size());
  for (int i = 0; i < std::max(1, options.repeats); ++i) {
    for (size_t v = 0; v < variants.size(); ++v) {
      times[v].push_back(Seconds(variants[v], options.device));
    }
  }
  std::vector<double> medians;
  for (auto& t : times) medians.push_back(Median(std::move(t)));
  return medians;
}

// One stage's model slice with its inputs, and the timed variants: forward, forward + full
// backward, forward + input gradient (not on the first stage, which has none), optimizer step.
class StageBench {
 public:
  StageBench(const StageModel& model, const UnitRange& range, const MeasurementOptions& options)
      : model_(model),
        range_(range),
        first_(range.begin == 0),
        last_(range.end == model.units()),
        weights_(TrainableOn(model.InitWeights(range, 0), options.device)),
        adam_(OptimizerConfig(), model.WeightDecayMask(range)) {
    const torch::Device device = options.device;
    const int64_t batch = options.micro_batch_size;
    tokens_ = torch::randint(0, model.vocab_size(), {batch, model.context()}, torch::kInt64)
                  .to(device);
    input_ = first_ ? tokens_
                    : torch::randn(model.ActivationShape(options.micro_batch_size))
                          .to(device)
                          .requires_grad_(true);
    sample_ = Forward();
    if (!last_) grad_outputs_.push_back(torch::randn_like(sample_));
    for (const torch::Tensor& w : weights_) {
      adam_values_.push_back(w.detach().clone());
      adam_grads_.push_back(torch::randn_like(w));
    }
    variants_ = {[this] { Forward(); },
                 [this] {
                   std::vector<torch::Tensor> inputs = weights_;
                   if (!first_) inputs.push_back(input_);
                   torch::autograd::grad({Forward()}, inputs, grad_outputs_, false, false, true);
                 },
                 [this] { adam_.Step(adam_values_, adam_grads_, 1e-4); }};
    if (!first_) {
      variants_.push_back([this] {
        torch::autograd::grad({Forward()}, {input_}, grad_outputs_, /*retain_graph=*/false);
      });
    }
  }

  const std::vector<std::function<void()>>& variants() const { return variants_; }

  // From this stage's medians, in the order of variants().
  StageCost Cost(const std::vector<double>& medians) const {
    StageCost cost;
    cost.forward = medians[0];
    const double backward = std::max(0.0, medians[1] - medians[0]);
    cost.backward_input = first_ ? 0.0 : std::clamp(medians[3] - medians[0], 0.0, backward);
    cost.backward_weight = backward - cost.backward_input;
    cost.optimizer_step = medians[2];
    cost.activation_bytes =
        last_ ? 0.0 : static_cast<double>(sample_.numel() * sample_.element_size());
    return cost;
  }

  StageMemory Memory() const {
    StageMemory memory;
    memory.parameter_bytes = ParameterCount(weights_) * 4;
    memory.optimizer_state_bytes = 2 * memory.parameter_bytes;
    memory.activation_bytes = static_cast<std::int64_t>(
        model_.ActivationBytes(range_, static_cast<int>(tokens_.size(0))));
    return memory;
  }

 private:
  // A training forward, as a run's are: dropout on and, in a supernet, the architecture sampled,
  // with a new seed per call (a GDAS sample's cost depends on the path it draws).
  torch::Tensor Forward() {
    torch::Tensor out = model_.Forward(range_, weights_, input_, forward_seed_++);
    return last_ ? LanguageModelLoss(out, tokens_) : out;
  }

  const StageModel& model_;
  const UnitRange range_;
  const bool first_;
  const bool last_;
  std::vector<torch::Tensor> weights_;
  AdamW adam_;
  std::uint64_t forward_seed_ = 0;
  torch::Tensor tokens_, input_, sample_;
  std::vector<torch::Tensor> grad_outputs_, adam_values_, adam_grads_;
  std::vector<std::function<void()>> variants_;
};

}  // namespace

absl::StatusOr<CostModel> MeasureStageCosts(const StageModel& model,
                                            const std::vector<UnitRange>& partition,
                                            const MeasurementOptions& requested) {
  if (partition.empty()) return absl::InvalidArgumentError("empty partition");
  MeasurementOptions options = requested;
  PB_ASSIGN_OR_RETURN(options.device, ResolveDevice(requested.device));
  PB_RETURN_IF_ERROR(model.CheckStages(static_cast<int>(partition.size())));
  CostModel costs;
  costs.stages.assign(partition.size(), StageCost());
  costs.memory.assign(partition.size(), StageMemory());
  std::vector<std::unique_ptr<StageBench>> benches;
  for (const UnitRange& range : partition) {
    benches.push_back(std::make_unique<StageBench>(model, range, options));
  }
  if (!options.concurrent) {
    // Every variant of every stage in each round.
    std::vector<std::function<void()>> all;
    for (const auto& bench : benches) {
      all.insert(all.end(), bench->variants().begin(), bench->variants().end());
    }
    const std::vector<double> medians = InterleavedMedians(options, all);
    size_t next = 0;
    for (size_t s = 0; s < benches.size(); ++s) {
      const size_t count = benches[s]->variants().size();
      costs.stages[s] = benches[s]->Cost({medians.begin() + next, medians.begin() + next + count});
      costs.memory[s] = benches[s]->Memory();
      next += count;
    }
    return costs;
  }
  std::vector<std::thread> threads;
  for (size_t s = 0; s < partition.size(); ++s) {
    threads.emplace_back([&, s] {
      costs.stages[s] = benches[s]->Cost(InterleavedMedians(options, benches[s]->variants()));
      costs.memory[s] = benches[s]->Memory();
    });
  }
  for (std::thread& t : threads) t.join();
  return costs;
}

absl::StatusOr<std::vector<UnitRange>> PartitionByMeasuredTime(const StageModel& model, int stages,
                                                               const MeasurementOptions& options) {
  // One stage holds every unit: there is nothing to choose (and a tied head cannot be timed
  // apart from the token table it reads).
  if (stages == 1) return PartitionByLayers(model, 1);
  PB_RETURN_IF_ERROR(model.CheckStages(stages));
  std::vector<UnitRange> units;
  for (int u = 0; u < model.units(); ++u) units.push_back({u, u + 1});
  PB_ASSIGN_OR_RETURN(CostModel unit_costs, MeasureStageCosts(model, units, options));
  std::vector<double> per_unit;
  for (const StageCost& c : unit_costs.stages) per_unit.push_back(c.forward + c.backward());
  return PartitionByCost(model, per_unit, stages);
}

}  // namespace pipebench
