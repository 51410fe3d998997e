#include "engine/exec/cost_measurement.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

double Median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

double Seconds(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times every variant once per round, round after round, and keeps each variant's median.
// Interleaving the variants means a burst of outside load (a noisy neighbour, a BLAS thread
// waking) lands on all of them alike instead of inflating one; differences of the medians then
// stay meaningful. Millisecond-scale stages see 10x spikes on a shared 2-core VM.
std::vector<double> InterleavedMedians(const MeasurementOptions& options,
                                       const std::vector<std::function<void()>>& variants) {
  for (int i = 0; i < options.warmup; ++i) {
    for (const auto& run : variants) run();
  }
  std::vector<std::vector<double>> times(variants.size());
  for (int i = 0; i < std::max(1, options.repeats); ++i) {
    for (size_t v = 0; v < variants.size(); ++v) times[v].push_back(Seconds(variants[v]));
  }
  std::vector<double> medians;
  for (auto& t : times) medians.push_back(Median(std::move(t)));
  return medians;
}

void MeasureStage(const GptConfig& model, const UnitRange& range,
                  const MeasurementOptions& options, StageCost* stage_cost,
                  StageMemory* stage_memory) {
  const int64_t batch = options.micro_batch_size;
  const int64_t time = model.context;
  torch::Tensor tokens = torch::randint(0, model.vocab_size, {batch, time}, torch::kInt64);
  {
    const bool first = range.begin == 0;
    const bool last = range.end == model.units();
    std::vector<torch::Tensor> weights = InitWeights(model, range, 0);
    torch::Tensor input = first ? tokens : torch::randn({batch, time, model.embed}).requires_grad_(true);
    auto forward = [&] {
      torch::Tensor out = ForwardUnits(model, range, weights, input);
      return last ? LanguageModelLoss(out, tokens) : out;
    };
    torch::Tensor sample = forward();
    torch::Tensor grad_output = last ? torch::Tensor() : torch::randn_like(sample);
    std::vector<torch::Tensor> grad_outputs;
    if (grad_output.defined()) grad_outputs.push_back(grad_output);
    auto forward_only = [&] { forward(); };
    // Input gradient alone (the first stage has none to compute).
    auto input_gradient = [&] {
      torch::autograd::grad({forward()}, {input}, grad_outputs, /*retain_graph=*/false);
    };
    auto full_backward = [&] {
      std::vector<torch::Tensor> inputs = weights;
      if (!first) inputs.push_back(input);
      torch::autograd::grad({forward()}, inputs, grad_outputs, false, false, true);
    };
    std::vector<std::function<void()>> variants = {forward_only, full_backward};
    if (!first) variants.push_back(input_gradient);
    const std::vector<double> medians = InterleavedMedians(options, variants);
    StageCost cost;
    cost.forward = medians[0];
    const double backward = std::max(0.0, medians[1] - medians[0]);
    cost.backward_input = first ? 0.0 : std::clamp(medians[2] - medians[0], 0.0, backward);
    cost.backward_weight = backward - cost.backward_input;
    OptimizerConfig optimizer;
    AdamW adam(optimizer, WeightDecayMask(model, range));
    std::vector<torch::Tensor> values;
    std::vector<torch::Tensor> grads;
    for (const torch::Tensor& w : weights) {
      values.push_back(w.detach().clone());
      grads.push_back(torch::randn_like(w));
    }
    cost.optimizer_step =
        InterleavedMedians(options, {[&] { adam.Step(values, grads, 1e-4); }})[0];
    cost.activation_bytes = last ? 0.0 : static_cast<double>(sample.numel() * sample.element_size());
    *stage_cost = cost;

    StageMemory memory;
    memory.parameter_bytes = ParameterCount(weights) * 4;
    memory.optimizer_state_bytes = 2 * memory.parameter_bytes;
    const int blocks = range.size() - (first ? 1 : 0) - (last ? 1 : 0);
    const double per_block = double(time) * batch * model.embed *
                             (34.0 + 5.0 * model.heads * time / model.embed) * 2.0;
    memory.activation_bytes = static_cast<std::int64_t>(blocks * per_block);
    *stage_memory = memory;
  }
}

}  // namespace

absl::StatusOr<CostModel> MeasureStageCosts(const GptConfig& model,
                                            const std::vector<UnitRange>& partition,
                                            const MeasurementOptions& options) {
  if (absl::Status s = model.Validate(); !s.ok()) return s;
  if (partition.empty()) return absl::InvalidArgumentError("empty partition");
  CostModel costs;
  costs.stages.assign(partition.size(), StageCost());
  costs.memory.assign(partition.size(), StageMemory());
  if (!options.concurrent) {
    for (size_t s = 0; s < partition.size(); ++s) {
      MeasureStage(model, partition[s], options, &costs.stages[s], &costs.memory[s]);
    }
    return costs;
  }
  std::vector<std::thread> threads;
  for (size_t s = 0; s < partition.size(); ++s) {
    threads.emplace_back(
        [&, s] { MeasureStage(model, partition[s], options, &costs.stages[s], &costs.memory[s]); });
  }
  for (std::thread& t : threads) t.join();
  return costs;
}

}  // namespace pipebench
