#include "benchmarks/harness/cell_params.h"

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"
#include "nas/entangled/entangled_linear.h"
#include "nas/samplers/architecture_sampler.h"

namespace pipebench {

using nlohmann::json;

namespace {

// Reads fields of one cell's JSON; the first missing or mistyped field becomes the error.
class CellReader {
 public:
  CellReader(const std::string& kind, const json& params) : kind_(kind), params_(params) {}

  template <typename T>
  T Get(const char* field) {
    return Read<T>(field, nullptr);
  }
  template <typename T>
  T Get(const char* field, const T& fallback) {
    return Read<T>(field, &fallback);
  }
  bool Has(const char* field) const { return params_.contains(field); }
  const json& Raw(const char* field) const { return params_.at(field); }

  absl::Status status() const { return status_; }

 private:
  template <typename T>
  T Read(const char* field, const T* fallback) {
    if (!status_.ok()) return fallback ? *fallback : T();
    if (!params_.contains(field)) {
      if (fallback) return *fallback;
      status_ = absl::InvalidArgumentError(
          absl::StrCat(kind_, " cell: field '", field, "' is missing"));
      return T();
    }
    try {
      return params_.at(field).get<T>();
    } catch (const std::exception& e) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(kind_, " cell: field '", field, "': ", e.what()));
      return fallback ? *fallback : T();
    }
  }

  const std::string kind_;
  const json& params_;
  absl::Status status_;
};

ScheduleParams ScheduleParamsOf(CellReader& reader, int batches) {
  ScheduleParams params;
  params.stages = reader.Get<int>("stages");
  params.microbatches = reader.Get<int>("microbatches");
  params.accumulation = reader.Get<int>("accumulation");
  params.chunks = reader.Get<int>("chunks");
  params.batches = batches;
  return params;
}

}  // namespace

absl::StatusOr<CostsCellParams> CostsCellOf(const json& params) {
  CellReader reader("costs", params);
  CostsCellParams cell;
  cell.model = reader.Get<std::string>("model");
  cell.data = reader.Get<std::string>("data");
  cell.model_stages = reader.Get<int>("model_stages");
  cell.micro_batch_size = reader.Get<int>("micro_batch_size");
  cell.balance_by_time = reader.Get<std::string>("partition", "layers") == "time";
  // Absent in CPU experiments, so their cells' keys are what they were before devices existed.
  cell.device = reader.Get<std::string>("device", "cpu");
  PB_RETURN_IF_ERROR(reader.status());
  return cell;
}

absl::StatusOr<SimulateCellParams> SimulateCellOf(const json& params) {
  CellReader reader("sim", params);
  SimulateCellParams cell;
  cell.schedule = reader.Get<std::string>("schedule");
  cell.variant = reader.Get<std::string>("variant", cell.schedule);
  cell.schedule_params = ScheduleParamsOf(reader, reader.Get<int>("batches"));
  if (reader.Has("costs")) {
    PB_RETURN_IF_ERROR(reader.status());
    absl::StatusOr<CostModel> costs = ParseCostModelJson(reader.Raw("costs").dump());
    if (!costs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sim cell: field 'costs': ", costs.status().message()));
    }
    cell.inline_costs = *costs;
  } else {
    const json link = reader.Get<json>("link");
    PB_RETURN_IF_ERROR(reader.status());
    CellReader link_reader("sim link", link);
    cell.link_latency_seconds = link_reader.Get<double>("latency_seconds");
    cell.link_bandwidth_bytes_per_second = link_reader.Get<double>("bandwidth_bytes_per_second");
    PB_RETURN_IF_ERROR(link_reader.status());
  }
  if (!cell.inline_costs || reader.Has("model")) {
    cell.model = reader.Get<std::string>("model");
    cell.micro_batch_size = reader.Get<int>("micro_batch_size");
  }
  PB_RETURN_IF_ERROR(reader.status());
  return cell;
}

absl::StatusOr<ExecutedCellParams> ExecutedCellOf(const std::string& kind, const json& params) {
  CellReader reader(kind, params);
  ExecutedCellParams cell;
  TrainConfig& run = cell.run;
  run.schedule = reader.Get<std::string>("schedule");
  cell.variant = reader.Get<std::string>("variant", run.schedule);
  run.stages = reader.Get<int>("stages");
  run.microbatches = reader.Get<int>("microbatches");
  run.accumulation = reader.Get<int>("accumulation");
  run.chunks = reader.Get<int>("chunks");
  run.batches = reader.Get<int>("steps", 0);
  run.model = reader.Get<std::string>("model");
  run.micro_batch_size = reader.Get<int>("micro_batch_size");
  run.seed = reader.Get<std::uint64_t>("seed");
  run.data = reader.Get<std::string>("data");
  // A cell evaluates only when its study asks; the executor's defaults otherwise.
  run.eval_every = reader.Get<int>("eval_every", 0);
  run.eval_tokens = reader.Get<std::int64_t>("eval_tokens", TrainConfig().eval_tokens);
  run.lr = reader.Get<double>("lr", TrainConfig().lr);
  run.warmup = reader.Get<int>("warmup", TrainConfig().warmup);
  run.device = reader.Get<std::string>("device", TrainConfig().device);
  cell.budget_seconds = reader.Get<double>("budget_seconds", 0.0);
  cell.budget_flush_steps = reader.Get<int>("budget_flush_steps", 0);
  PB_RETURN_IF_ERROR(reader.status());
  if (run.batches == 0 && cell.budget_seconds <= 0 && cell.budget_flush_steps <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " cell: needs 'steps', 'budget_seconds' or 'budget_flush_steps'"));
  }
  return cell;
}

namespace {

// A parse error of a named field's value, in the reader's words.
template <typename T>
absl::StatusOr<T> Parsed(const std::string& kind, const char* field,
                         absl::StatusOr<T> value) {
  if (value.ok()) return value;
  return absl::InvalidArgumentError(
      absl::StrCat(kind, " cell: field '", field, "': ", value.status().message()));
}

}  // namespace

absl::StatusOr<NasCellParams> NasCellOf(const json& params) {
  CellReader reader("nas", params);
  NasCellParams cell;
  SearchOptions& search = cell.job.search;
  cell.space = reader.Get<std::string>("space");
  cell.data = reader.Get<std::string>("data");
  const std::string method = reader.Get<std::string>("optimizer");
  // The random baseline has no supernet, so no storage or attention.
  const std::string storage = reader.Get<std::string>("storage", "entangled");
  const std::string attention = reader.Get<std::string>("attention", "exact");
  search.steps = reader.Get<int>("steps");
  search.batch_size = reader.Get<int>("batch_size");
  search.seed = reader.Get<std::uint64_t>("seed");
  search.search_candidates = reader.Get<int>("search_candidates");
  search.random_architectures = reader.Get<int>("random_architectures");
  search.checkpoints = reader.Get<int>("checkpoints");
  cell.job.retrain_steps = reader.Get<int>("retrain_steps");
  const std::vector<std::string> retrain_from =
      reader.Get<std::vector<std::string>>("retrain_from");
  const json preset = reader.Get<json>("preset");
  PB_RETURN_IF_ERROR(reader.status());
  PB_ASSIGN_OR_RETURN(search.method, Parsed("nas", "optimizer", ParseSearchMethod(method)));
  PB_ASSIGN_OR_RETURN(search.storage, Parsed("nas", "storage", ParseWeightStorage(storage)));
  PB_ASSIGN_OR_RETURN(search.attention,
                      Parsed("nas", "attention", ParseAttentionMode(attention)));
  PB_ASSIGN_OR_RETURN(search.preset, Parsed("nas", "preset", NasPresetFromJson(preset)));
  PB_ASSIGN_OR_RETURN(cell.job.retrain,
                      Parsed("nas", "retrain_from", ParseEvaluationPlan(retrain_from)));
  return cell;
}

absl::StatusOr<NasCostCellParams> NasCostCellOf(const json& params) {
  CellReader reader("nas_cost", params);
  NasCostCellParams cell;
  SupernetCostOptions& cost = cell.cost;
  cell.space = reader.Get<std::string>("space");
  cell.data = reader.Get<std::string>("data");
  const std::string storage = reader.Get<std::string>("storage");
  const std::string attention = reader.Get<std::string>("attention");
  const std::string mixing = reader.Get<std::string>("mixing");
  const json preset = reader.Get<json>("preset");
  cost.batch_size = reader.Get<int>("batch_size");
  cost.steps = reader.Get<int>("steps");
  PB_RETURN_IF_ERROR(reader.status());
  PB_ASSIGN_OR_RETURN(cost.network.storage,
                      Parsed("nas_cost", "storage", ParseWeightStorage(storage)));
  PB_ASSIGN_OR_RETURN(cost.network.attention,
                      Parsed("nas_cost", "attention", ParseAttentionMode(attention)));
  PB_ASSIGN_OR_RETURN(cost.mixing, Parsed("nas_cost", "mixing", ParseMixing(mixing)));
  PB_ASSIGN_OR_RETURN(const NasPreset parsed,
                      Parsed("nas_cost", "preset", NasPresetFromJson(preset)));
  cost.network.dropout = parsed.dropout;
  cost.network.tied_embeddings = parsed.tied_embeddings;
  return cell;
}

namespace {

// The supernet and sampler settings a pipelined search and its costs cell share.
absl::Status ReadPipelineSupernet(const std::string& kind, CellReader& reader,
                                  PipelineSearchOptions& search) {
  const std::string optimizer = reader.Get<std::string>("optimizer");
  const std::string storage = reader.Get<std::string>("storage");
  const json preset = reader.Get<json>("preset");
  search.micro_batch_size = reader.Get<int>("micro_batch_size");
  search.gdas_temperature = reader.Get<double>("gdas_temperature");
  PB_RETURN_IF_ERROR(reader.status());
  PB_ASSIGN_OR_RETURN(const std::optional<SamplerKind> method,
                      Parsed(kind, "optimizer", ParseSearchMethod(optimizer)));
  if (!method) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " cell: field 'optimizer': 'random' trains no supernet"));
  }
  search.sampler = *method;
  PB_ASSIGN_OR_RETURN(search.storage, Parsed(kind, "storage", ParseWeightStorage(storage)));
  PB_ASSIGN_OR_RETURN(search.preset, Parsed(kind, "preset", NasPresetFromJson(preset)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NasPipelineCostsCellParams> NasPipelineCostsCellOf(const json& params) {
  CellReader reader("nas_pipeline_costs", params);
  NasPipelineCostsCellParams cell;
  cell.space = reader.Get<std::string>("space");
  cell.data = reader.Get<std::string>("data");
  cell.model_stages = reader.Get<int>("model_stages");
  PB_RETURN_IF_ERROR(ReadPipelineSupernet("nas_pipeline_costs", reader, cell.search));
  return cell;
}

absl::StatusOr<NasPipelineCellParams> NasPipelineCellOf(const json& params) {
  CellReader reader("nas_pipeline", params);
  NasPipelineCellParams cell;
  PipelineSearchOptions& search = cell.job.search;
  cell.space = reader.Get<std::string>("space");
  cell.data = reader.Get<std::string>("data");
  search.schedule = reader.Get<std::string>("schedule");
  search.stages = reader.Get<int>("stages");
  search.microbatches = reader.Get<int>("microbatches");
  search.accumulation = reader.Get<int>("accumulation");
  search.chunks = reader.Get<int>("chunks");
  search.steps = reader.Get<int>("steps");
  search.seed = reader.Get<std::uint64_t>("seed");
  cell.job.retrain_steps = reader.Get<int>("retrain_steps");
  const std::vector<std::string> retrain_from =
      reader.Get<std::vector<std::string>>("retrain_from");
  PB_RETURN_IF_ERROR(ReadPipelineSupernet("nas_pipeline", reader, search));
  PB_ASSIGN_OR_RETURN(cell.job.retrain,
                      Parsed("nas_pipeline", "retrain_from", ParseEvaluationPlan(retrain_from)));
  return cell;
}

}  // namespace pipebench
