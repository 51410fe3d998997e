#include "nas/pipeline/pipeline_search.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/exec/cost_measurement.h"
#include "engine/schedule/registry.h"
#include "engine/util/status_macros.h"
#include "nas/pipeline/supernet_stage_model.h"
#include "nas/search/search.h"

namespace pipebench {

absl::StatusOr<PipelineSearchResult> RunPipelineSearch(const SearchSpace& space,
                                                       const TokenDataset& data,
                                                       const PipelineSearchOptions& options) {
  if (options.steps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("steps must be >= 1, got ", options.steps));
  }
  if (options.sampler == SamplerKind::kSpos) {
    return absl::UnimplementedError(
        "spos trains no alpha (it searches the trained supernet afterwards, by random search and "
        "evolution), which the pipelined search does not do yet; use the single-process search");
  }
  if (options.accumulation > 0 && options.microbatches % options.accumulation != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "accumulation ", options.accumulation, " must divide microbatches ", options.microbatches,
        ", so that every update trains either alpha or the weights"));
  }
  const NasPreset& preset = options.preset;
  if (preset.weights.gradient_clip > 0 || preset.architecture.gradient_clip > 0) {
    return absl::UnimplementedError(absl::StrCat(
        "preset '", preset.name,
        "' clips gradients, which a pipeline would need one norm across all stages for; the "
        "pipelined search does not clip yet (use a preset without gradient_clip)"));
  }
  SupernetOptions network;
  network.storage = options.storage;
  network.dropout = preset.dropout;
  network.tied_embeddings = preset.tied_embeddings;
  PB_ASSIGN_OR_RETURN(std::shared_ptr<const SupernetStageModel> model,
                      SupernetStageModel::Create(space, network, options.sampler,
                                                 options.gdas_temperature));
  ScheduleParams params;
  params.stages = options.stages;
  params.microbatches = options.microbatches;
  params.batches = 2 * options.steps;
  params.accumulation = options.accumulation;
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule,
                      MakeSchedule(options.schedule, params));
  const MeasurementOptions measurement{.micro_batch_size = options.micro_batch_size};
  PB_ASSIGN_OR_RETURN(std::vector<UnitRange> partition,
                      PartitionByMeasuredTime(*model, params.model_stages(), measurement));
  PB_ASSIGN_OR_RETURN(CostModel costs, MeasureStageCosts(*model, partition, measurement));

  ExecutorOptions run;
  run.model = model;
  run.micro_batch_size = options.micro_batch_size;
  run.seed = options.seed;
  run.optimizer = preset.weights.config;
  run.optimizer.total_steps = 0;  // each stage's cosine over its own weight steps
  run.architecture = ArchitectureTraining{preset.architecture.config, options.train_portion};
  run.eval_tokens = std::min<std::int64_t>(
      8192, data.ValidationWindowCount(model->context()) * model->context());
  PB_ASSIGN_OR_RETURN(ExecutorResult result,
                      RunPipeline(*schedule, costs, partition, data, run));

  std::vector<torch::Tensor> all;
  for (const std::vector<torch::Tensor>& stage : result.final_weights) {
    all.insert(all.end(), stage.begin(), stage.end());
  }
  const MixingWeights alpha = model->Alpha(all);
  PipelineSearchResult out;
  out.architecture = ArgmaxArchitecture(space, alpha);
  out.derived = DerivedConfig(space, out.architecture, network);
  out.summary = SummarizeExecutorRun(*schedule, result);
  out.final_validation_loss = result.final_validation_loss;
  out.alpha_distributions = AlphaDistributions(alpha);
  return out;
}

nlohmann::json PipelineSearchToJson(const SearchSpace& space, const PipelineSearchOptions& options,
                                    const PipelineSearchResult& result) {
  const std::string method = SearchMethodName(options.sampler);
  nlohmann::json derived = {
      {"method", method},
      {"architecture", ArchitectureToJson(space, result.architecture)},
      {"parameters", DerivedParameterCount(space, result.architecture,
                                           options.preset.tied_embeddings)},
      {"model", nlohmann::json::parse(GptConfigToJson(result.derived))}};
  return {{"method", method},
          {"schedule", options.schedule},
          {"stages", options.stages},
          {"microbatches", options.microbatches},
          {"accumulation", options.accumulation},
          {"storage", WeightStorageName(options.storage)},
          {"preset", NasPresetToJson(options.preset)},
          {"steps", options.steps},
          {"summary", RunSummaryToJson(result.summary)},
          {"final_validation_loss", result.final_validation_loss},
          {"alpha", result.alpha_distributions},
          {"derived", nlohmann::json::array({derived})}};
}

}  // namespace pipebench
