// Entangled supernet against the weight-sharing supernet of the same space: parameter memory and
// the time of one mixed training step (forward and backward with dense DrNAS-style weights).
// Run one storage per process to read its peak RSS as well:
//
//   bazel run //nas/entangled:supernet_benchmark -- --benchmark_filter=entangled
#include <sys/resource.h>


#include "benchmark/benchmark.h"
#include "nas/entangled/supernet.h"

namespace pipebench {
namespace {

SearchSpace CharSpace() {
  // The paper's character-level space with the context cut to 64 tokens for CPU steps.
  SearchSpace space;
  space.embed = {96, 192, 384};
  space.heads = {2, 4, 6};
  space.mlp_ratio = {2, 3, 4};
  space.layers = {4, 5, 6};
  space.context = 64;
  space.vocab_size = 65;
  return space;
}

void BM_SupernetStep(benchmark::State& state, WeightStorage storage) {
  const SearchSpace space = CharSpace();
  auto supernet = EntangledGpt::Create(space, 0, storage);
  const torch::Tensor tokens = torch::randint(0, 65, {4, 64}, torch::kInt64);
  const std::int64_t depth = space.max_layers();
  const MixingWeights w{torch::softmax(torch::randn({3}), 0), torch::softmax(torch::randn({3}), 0),
                        torch::softmax(torch::randn({depth, 3}), -1),
                        torch::softmax(torch::randn({depth, 3}), -1)};
  const std::vector<torch::Tensor> params = supernet->parameters();
  for (auto _ : state) {
    const torch::Tensor logits = supernet->Mixed(tokens, w);
    const torch::Tensor loss =
        torch::cross_entropy_loss(logits.reshape({-1, 65}), tokens.reshape({-1}));
    auto grads = torch::autograd::grad({loss}, params, {}, false, false, true);
    benchmark::DoNotOptimize(grads.data());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["parameter_MiB"] = supernet->ParameterCount() * 4.0 / (1 << 20);
  state.counters["peak_rss_MiB"] = usage.ru_maxrss / 1024.0;
}
BENCHMARK_CAPTURE(BM_SupernetStep, entangled, WeightStorage::kEntangled)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_SupernetStep, weight_sharing, WeightStorage::kSeparate)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

}  // namespace
}  // namespace pipebench

BENCHMARK_MAIN();
