// Executor overhead: time per micro-batch of the pipeline executor against the same stage
// functions run back to back with no pipeline machinery (target: within 10%), on the 4-layer,
// 128-wide character GPT (context 64, 8 sequences per micro-batch).
//
//   bazel run //engine/exec:executor_benchmark
#include "benchmark/benchmark.h"
#include "engine/exec/executor.h"
#include "engine/model/gpt.h"
#include "engine/model/partition.h"
#include "engine/schedule/registry.h"

namespace pipebench {
namespace {

constexpr int kStages = 2;
constexpr int kMicrobatches = 4;
constexpr int kBatches = 4;

GptConfig Model() {
  GptConfig model;
  model.vocab_size = 65;
  model.layers = 4;
  model.embed = 128;
  model.heads = 4;
  model.context = 64;
  return model;
}

const TokenDataset& Data() {
  static const TokenDataset* data = new TokenDataset(TokenDataset::Synthetic(65, 100000, 1));
  return *data;
}

ExecutorOptions Options() {
  ExecutorOptions options;
  options.model = std::make_shared<const GptModel>(Model());
  options.micro_batch_size = 8;
  options.eval_tokens = 1;  // the final evaluation: one window
  return options;
}

void SetCounters(benchmark::State& state) {
  const double microbatches = double(state.iterations()) * kMicrobatches * kBatches;
  state.counters["s/microbatch"] = benchmark::Counter(
      microbatches, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["tokens/s"] = benchmark::Counter(microbatches * 8 * Model().context,
                                                  benchmark::Counter::kIsRate);
}

void BM_BackToBack(benchmark::State& state) {
  const ExecutorOptions options = Options();
  const std::vector<UnitRange> partition = *PartitionByLayers(*options.model, kStages);
  std::vector<std::vector<torch::Tensor>> weights;
  std::vector<std::unique_ptr<AdamW>> optimizers;
  for (const UnitRange& range : partition) {
    weights.push_back(options.model->InitWeights(range, 0));
    optimizers.push_back(
        std::make_unique<AdamW>(options.optimizer, options.model->WeightDecayMask(range)));
  }
  for (auto _ : state) {
    for (int batch = 0; batch < kBatches; ++batch) {
      std::vector<std::vector<torch::Tensor>> sums(kStages);
      for (int i = 0; i < kMicrobatches; ++i) {
        const TokenBatch data =
            Data().TrainBatch(8, options.model->context(), 0, batch * kMicrobatches + i);
        std::vector<torch::Tensor> inputs(kStages), outputs(kStages);
        torch::Tensor x = data.inputs;
        for (int s = 0; s < kStages; ++s) {
          inputs[s] = s == 0 ? x : x.detach().requires_grad_(true);
          x = options.model->Forward(partition[s], weights[s], inputs[s], std::nullopt);
          outputs[s] = x;
        }
        outputs.back() = LanguageModelLoss(outputs.back(), data.targets);
        torch::Tensor grad;
        for (int s = kStages - 1; s >= 0; --s) {
          std::vector<torch::Tensor> wrt = weights[s];
          if (s > 0) wrt.push_back(inputs[s]);
          std::vector<torch::Tensor> grad_outputs;
          if (grad.defined()) grad_outputs.push_back(grad);
          std::vector<torch::Tensor> grads = torch::autograd::grad({outputs[s]}, wrt, grad_outputs);
          if (s > 0) {
            grad = grads.back();
            grads.pop_back();
          }
          if (sums[s].empty()) {
            sums[s] = grads;
          } else {
            for (size_t k = 0; k < grads.size(); ++k) sums[s][k].add_(grads[k]);
          }
        }
      }
      for (int s = 0; s < kStages; ++s) {
        std::vector<torch::Tensor> data;
        for (size_t k = 0; k < weights[s].size(); ++k) {
          data.push_back(weights[s][k].data());
          sums[s][k].div_(kMicrobatches);
        }
        optimizers[s]->Step(data, sums[s], 1e-3);
      }
    }
  }
  SetCounters(state);
}
BENCHMARK(BM_BackToBack)->Unit(benchmark::kMillisecond)->MinTime(3.0);

void BM_Executor(benchmark::State& state, const std::string& name) {
  const ExecutorOptions options = Options();
  ScheduleParams params;
  params.stages = kStages;
  params.microbatches = kMicrobatches;
  params.batches = kBatches;
  auto schedule = MakeSchedule(name, params);
  const std::vector<UnitRange> partition = *PartitionByLayers(*options.model, kStages);
  for (auto _ : state) {
    auto result = RunPipeline(**schedule, CostModel(), partition, Data(), options);
    if (!result.ok()) state.SkipWithError(std::string(result.status().message()).c_str());
  }
  SetCounters(state);
}
BENCHMARK_CAPTURE(BM_Executor, 1f1b_flush, std::string("1f1b_flush"))
    ->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK_CAPTURE(BM_Executor, paci, std::string("paci"))->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK_CAPTURE(BM_Executor, pipedream, std::string("pipedream"))
    ->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
}  // namespace pipebench

BENCHMARK_MAIN();
