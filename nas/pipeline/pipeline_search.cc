#include "nas/pipeline/pipeline_search.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/exec/cost_measurement.h"
#include "engine/schedule/registry.h"
#include "engine/util/status_macros.h"
#include "nas/pipeline/supernet_stage_model.h"
#include "nas/search/search.h"
#include "nas/search/search_and_evaluate.h"

namespace pipebench {

namespace {

SupernetOptions NetworkOf(const PipelineSearchOptions& options) {
  SupernetOptions network;
  network.storage = options.storage;
  network.dropout = options.preset.dropout;
  network.tied_embeddings = options.preset.tied_embeddings;
  return network;
}

absl::StatusOr<std::shared_ptr<const SupernetStageModel>> ModelOf(
    const SearchSpace& space, const PipelineSearchOptions& options) {
  return SupernetStageModel::Create(space, NetworkOf(options), options.sampler,
                                    options.gdas_temperature);
}

ScheduleParams ScheduleParamsOf(const PipelineSearchOptions& options) {
  ScheduleParams params;
  params.stages = options.stages;
  params.microbatches = options.microbatches;
  params.batches = 2 * options.steps;
  params.accumulation = options.accumulation;
  params.chunks = options.chunks;
  return params;
}

}  // namespace

absl::StatusOr<SupernetStageCosts> MeasureSupernetStageCosts(
    const SearchSpace& space, const PipelineSearchOptions& options, int model_stages) {
  PB_ASSIGN_OR_RETURN(std::shared_ptr<const SupernetStageModel> model, ModelOf(space, options));
  const MeasurementOptions measurement{.micro_batch_size = options.micro_batch_size};
  SupernetStageCosts measured;
  PB_ASSIGN_OR_RETURN(measured.partition,
                      PartitionByMeasuredTime(*model, model_stages, measurement));
  PB_ASSIGN_OR_RETURN(measured.costs, MeasureStageCosts(*model, measured.partition, measurement));
  return measured;
}

absl::StatusOr<PipelineSearchResult> RunPipelineSearch(const SearchSpace& space,
                                                       const TokenDataset& data,
                                                       const PipelineSearchOptions& options,
                                                       const BatchCallback& on_batch) {
  if (options.steps < 1 || options.steps > (1 << 29)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "steps must be in [1, 2^29] (two mini-batches each), got ", options.steps));
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
  PB_ASSIGN_OR_RETURN(std::shared_ptr<const SupernetStageModel> model, ModelOf(space, options));
  const ScheduleParams params = ScheduleParamsOf(options);
  SupernetStageCosts measured;
  if (options.stage_costs) {
    measured = *options.stage_costs;  // RunPipeline checks that its partition fits
  } else {
    PB_ASSIGN_OR_RETURN(measured,
                        MeasureSupernetStageCosts(space, options, params.model_stages()));
  }
  PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule,
                      MakeSchedule(options.schedule, params, measured.costs));

  ExecutorOptions run;
  run.model = model;
  run.micro_batch_size = options.micro_batch_size;
  run.seed = options.seed;
  run.optimizer = preset.weights.config;
  run.optimizer.total_steps = 0;  // each stage's cosine over its own weight steps
  run.architecture = ArchitectureTraining{preset.architecture.config, options.train_portion};
  run.eval_tokens = std::min<std::int64_t>(
      8192, data.ValidationWindowCount(model->context()) * model->context());
  PB_ASSIGN_OR_RETURN(
      ExecutorResult result,
      RunPipeline(*schedule, measured.costs, measured.partition, data, run, on_batch));

  std::vector<torch::Tensor> all;
  for (const std::vector<torch::Tensor>& stage : result.final_weights) {
    all.insert(all.end(), stage.begin(), stage.end());
  }
  const MixingWeights alpha = model->Alpha(all);
  PipelineSearchResult out;
  out.architecture = ArgmaxArchitecture(space, alpha);
  out.derived = DerivedConfig(space, out.architecture, NetworkOf(options));
  out.inherited = model->ExtractInherited(all, out.architecture);
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
          {"chunks", options.chunks},
          {"storage", WeightStorageName(options.storage)},
          {"preset", NasPresetToJson(options.preset)},
          {"steps", options.steps},
          {"summary", RunSummaryToJson(result.summary)},
          {"final_validation_loss", result.final_validation_loss},
          {"alpha", result.alpha_distributions},
          {"derived", nlohmann::json::array({derived})}};
}

absl::StatusOr<nlohmann::json> PipelineSearchAndEvaluate(const SearchSpace& space,
                                                         const TokenDataset& data,
                                                         const PipelineSearchJob& job,
                                                         const BatchCallback& on_batch) {
  PB_RETURN_IF_ERROR(CheckRetraining(job.retrain_steps, job.retrain, job.validation_batches));
  const PipelineSearchOptions& options = job.search;
  PB_ASSIGN_OR_RETURN(const PipelineSearchResult result,
                      RunPipelineSearch(space, data, options, on_batch));
  RetrainOptions retrain;
  retrain.steps = job.retrain_steps;
  retrain.batch_size = options.microbatches * options.micro_batch_size;
  retrain.seed = options.seed;
  retrain.validation_batches = job.validation_batches;
  retrain.optimizer = options.preset.weights;
  const EvaluationPlan plan = job.retrain_steps > 0 ? job.retrain : EvaluationPlan();
  PB_ASSIGN_OR_RETURN(const DerivedEvaluation evaluation,
                      EvaluateDerived(space, result.architecture, result.inherited,
                                      NetworkOf(options), data, retrain, plan));
  nlohmann::json record = PipelineSearchToJson(space, options, result);
  AddEvaluation(evaluation, record["derived"][0]);
  record["retrain_steps"] = job.retrain_steps;
  record["unigram_val_loss"] =
      UnigramValidationLoss(data, static_cast<int>(space.context), retrain.batch_size,
                            job.validation_batches, options.seed);
  return record;
}

}  // namespace pipebench
