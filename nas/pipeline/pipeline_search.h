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
#include "nas/search/retrain.h"

namespace pipebench {

// The supernet's stages, cut by measured time, and each stage's measured costs: what times a
// pipelined search on the simulated clock.
struct SupernetStageCosts {
  std::vector<UnitRange> partition;
  CostModel costs;
};

struct PipelineSearchOptions {
  SamplerKind sampler = SamplerKind::kDrnas;
  std::string schedule = "1f1b_flush";
  int stages = 2;
  int microbatches = 4;   // per mini-batch
  int accumulation = 0;   // PACI's a (0: m)
  int chunks = 1;         // model stages per rank (interleaved schedules)
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
  // Set: the run is cut and timed by these (a harness measures them once, alone on the machine,
  // for every run that shares them); unset: measured at the start of the run.
  std::optional<SupernetStageCosts> stage_costs;
};

// The supernet of `options` (its sampler, storage and preset's model settings) cut into
// `model_stages` by measured time, and their costs at its micro-batch size (its schedule is not
// read: schedules with as many model stages share the costs).
absl::StatusOr<SupernetStageCosts> MeasureSupernetStageCosts(const SearchSpace& space,
                                                             const PipelineSearchOptions& options,
                                                             int model_stages);

struct PipelineSearchResult {
  Architecture architecture;  // argmax of the final alpha
  GptConfig derived;          // the engine model it extracts to
  GptNetwork inherited;       // that model with the weights it inherits from the supernet
  // Simulated and measured clocks; drift per model stage, also split into the weights' and the
  // architecture parameters' (max_weight_drift, max_architecture_drift).
  RunSummary summary;
  double final_validation_loss = 0;  // the supernet's, mixing with softmax(alpha)
  // Each alpha row's softmax at the end: {"embed", "layers", "heads", "mlp_ratio"}.
  nlohmann::json alpha_distributions;
};

// `on_batch` sees every mini-batch as it finishes (2 per search step).
absl::StatusOr<PipelineSearchResult> RunPipelineSearch(const SearchSpace& space,
                                                       const TokenDataset& data,
                                                       const PipelineSearchOptions& options,
                                                       const BatchCallback& on_batch = nullptr);

// {"method", "schedule", "stages", "microbatches", "accumulation", "storage", "preset", "steps",
//  "summary" (RunSummaryToJson), "final_validation_loss", "alpha" (softmax per decision),
//  "derived": [{"method", "architecture", "parameters", "model"}]} - "derived" shaped as
// SearchAndEvaluate's, so WriteDerivedModels writes its model file.
nlohmann::json PipelineSearchToJson(const SearchSpace& space, const PipelineSearchOptions& options,
                                    const PipelineSearchResult& result);

// A pipelined search judged as the single-process one is (SearchAndEvaluate, nas/search/retrain.h):
// the derived network's validation loss with its inherited weights, fine-tuned from them and/or
// trained from scratch for `retrain_steps`, in one process with the preset's weight settings, at
// the search's mini-batch (microbatches x micro_batch_size sequences). The judge is the same for
// every schedule, so two schedules' derived architectures compare by it alone.
struct PipelineSearchJob {
  PipelineSearchOptions search;
  int retrain_steps = 0;
  EvaluationPlan retrain;
  int validation_batches = 8;
};

// PipelineSearchToJson's record plus "unigram_val_loss", "retrain_steps" and, in its one
// "derived" entry, "val_loss_inherited", "val_loss_finetuned" and "val_loss_scratch" (null when
// not asked for).
absl::StatusOr<nlohmann::json> PipelineSearchAndEvaluate(const SearchSpace& space,
                                                         const TokenDataset& data,
                                                         const PipelineSearchJob& job,
                                                         const BatchCallback& on_batch = nullptr);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_PIPELINE_PIPELINE_SEARCH_H_
