// Square matrix products through LibTorch, reported in GFLOP/s: the quickest way to see whether
// the process runs on OpenBLAS (about 100 GFLOP/s on 2 cores) or the reference BLAS (about 3).
#include <torch/torch.h>

#include <cstdio>

#include "benchmark/benchmark.h"
#include "engine/platform/blas_info.h"

namespace pipebench {
namespace {

void BM_Matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({n, n});
  torch::Tensor b = torch::randn({n, n});
  for (auto _ : state) {
    torch::Tensor c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(BlasKindName(DetectBlas().kind));
}
BENCHMARK(BM_Matmul)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  (void)pipebench::WarnIfSlowBlas();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
