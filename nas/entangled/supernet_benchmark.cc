// Step time of a supernet's weight-training step (forward, backward, AdamW) on the NAS study's
// reduced character space at its context and batch: entangled against weight-sharing storage,
// dense against one-hot mixing, exact against reference attention. Memory needs a process per
// configuration and is measured by the harness's nas_cost cells (configs/experiments/nas.json).
//
//   bazel run -c opt //nas/entangled:supernet_benchmark
#include <string>

#include "benchmark/benchmark.h"
#include "nas/entangled/supernet_cost.h"

namespace pipebench {
namespace {

void BM_SupernetStep(benchmark::State& state, WeightStorage storage, Mixing mixing,
                     AttentionMode attention) {
  auto space = LoadSearchSpace("configs/nas/char_gpt_small.json", /*vocab_size=*/65);
  if (!space.ok()) {
    state.SkipWithError(std::string(space.status().message()).c_str());
    return;
  }
  SupernetOptions network;
  network.storage = storage;
  network.attention = attention;
  auto step = SupernetTrainingStep::Create(*space, network, mixing, /*batch_size=*/16, 0);
  if (!step.ok()) {
    state.SkipWithError(std::string(step.status().message()).c_str());
    return;
  }
  for (auto _ : state) (*step)->Run();
  state.counters["parameter_MiB"] = (*step)->supernet().ParameterCount() * 4.0 / (1 << 20);
}

BENCHMARK_CAPTURE(BM_SupernetStep, entangled_dense_exact, WeightStorage::kEntangled,
                  Mixing::kDense, AttentionMode::kExact)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SupernetStep, entangled_dense_reference, WeightStorage::kEntangled,
                  Mixing::kDense, AttentionMode::kReference)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SupernetStep, sharing_dense, WeightStorage::kSeparate, Mixing::kDense,
                  AttentionMode::kExact)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SupernetStep, entangled_one_hot_exact, WeightStorage::kEntangled,
                  Mixing::kOneHot, AttentionMode::kExact)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SupernetStep, entangled_one_hot_reference, WeightStorage::kEntangled,
                  Mixing::kOneHot, AttentionMode::kReference)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SupernetStep, sharing_one_hot, WeightStorage::kSeparate, Mixing::kOneHot,
                  AttentionMode::kExact)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pipebench

BENCHMARK_MAIN();
