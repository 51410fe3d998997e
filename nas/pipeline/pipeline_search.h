// Architecture search inside the pipeline: the weight-entangled supernet (SupernetStageModel)
// trained bi-level by the engine under any registered schedule, on the executor's simulated clock
// from the supernet's measured stage costs. The derived architecture is the argmax of alpha,
// gathered from the stages that own it.
//
// One search step is two mini-batches: one updates alpha on the architecture part of the
// training split, the next the weights on the weight part (ExecutorOptions::architecture), each
// mini-batch drawing one architecture sample per micro-batch.
#ifndef PIPEBENCH_NAS_PIPELINE_PIPELINE_SEARCH_H_
#define PIPEBENCH_NAS_PIPELINE_PIPELINE_SEARCH_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/runtime/run_summary.h"
#include "nas/entangled/supernet.h"
#include "nas/samplers/architecture_sampler.h"
#include "nas/search/preset.h"

namespace pipebench {

struct PipelineSearchOptions {
  SamplerKind sampler = SamplerKind::kDrnas;
  std::string schedule = "1f1b_flush";
  int stages = 2;
  int microbatches = 4;   // per mini-batch
  int accumulation = 0;   // PACI's a (0: m)
  int micro_batch_size = 4;
  int steps = 50;         // search steps: an alpha and a weight mini-batch each
  std::uint64_t seed = 0;
  double train_portion = 0.5;  // weights on the first part of the training split, alpha on the rest
  // Optimisers (the weights' cosine spans the run's weight steps; alpha's rate is constant);
  // dropout, tying and gradient clipping are not taken by the pipelined supernet yet.
  NasPreset preset;
  WeightStorage storage = WeightStorage::kEntangled;
  // GDAS's temperature, fixed for the run (the preset's schedule needs the step in the forward).
  double gdas_temperature = 1.0;
};

struct PipelineSearchResult {
  Architecture architecture;  // argmax of the final alpha
  GptConfig derived;          // the engine model it extracts to
  RunSummary summary;         // simulated and measured clocks, drift per model stage
  double final_validation_loss = 0;  // the supernet's, mixing with softmax(alpha)
  // Each alpha row's softmax at the end: {"embed", "layers", "heads", "mlp_ratio"}.
  nlohmann::json alpha_distributions;
};

absl::StatusOr<PipelineSearchResult> RunPipelineSearch(const SearchSpace& space,
                                                       const TokenDataset& data,
                                                       const PipelineSearchOptions& options);

// {"method", "schedule", "stages", "microbatches", "accumulation", "storage", "preset", "steps",
//  "summary" (RunSummaryToJson), "final_validation_loss", "alpha" (softmax per decision),
//  "derived": [{"method", "architecture", "parameters", "model"}]} - "derived" shaped as
// SearchAndEvaluate's, so WriteDerivedModels writes its model file.
nlohmann::json PipelineSearchToJson(const SearchSpace& space, const PipelineSearchOptions& options,
                                    const PipelineSearchResult& result);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_PIPELINE_PIPELINE_SEARCH_H_
