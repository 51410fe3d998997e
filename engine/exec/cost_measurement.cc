#include "engine/exec/cost_measurement.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

double MedianSeconds(const MeasurementOptions& options, const std::function<void()>& run) {
  for (int i = 0; i < options.warmup; ++i) run();
  std::vector<double> times;
  for (int i = 0; i < std::max(1, options.repeats); ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
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
    StageCost cost;
    cost.forward = MedianSeconds(options, [&] { forward(); });
    // Input gradient alone (the first stage has none to compute).
    cost.backward_input =
        first ? 0.0 : MedianSeconds(options, [&] {
          torch::autograd::grad({forward()}, {input}, grad_outputs, /*retain_graph=*/false);
        }) - cost.forward;
    const double full = MedianSeconds(options, [&] {
      std::vector<torch::Tensor> inputs = weights;
      if (!first) inputs.push_back(input);
      torch::autograd::grad({forward()}, inputs, grad_outputs, false, false, true);
    }) - cost.forward;
    cost.backward_input = std::clamp(cost.backward_input, 0.0, full);
    cost.backward_weight = full - cost.backward_input;
    OptimizerConfig optimizer;
    AdamW adam(optimizer, WeightDecayMask(model, range));
    std::vector<torch::Tensor> values;
    std::vector<torch::Tensor> grads;
    for (const torch::Tensor& w : weights) {
      values.push_back(w.detach().clone());
      grads.push_back(torch::randn_like(w));
    }
    cost.optimizer_step = MedianSeconds(options, [&] { adam.Step(values, grads, 1e-4); });
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
