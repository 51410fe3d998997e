#include "benchmarks/harness/cell_params.h"

#include "benchmarks/harness/experiment_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

json TrainingCell() {
  return {{"schedule", "paci"},       {"variant", "paci a=4"}, {"stages", 2},
          {"microbatches", 4},        {"accumulation", 4},     {"chunks", 1},
          {"steps", 6},               {"model", "layers=2"},   {"micro_batch_size", 4},
          {"seed", 3},                {"data", "synthetic"},   {"lr", 2e-3},
          {"warmup", 5},              {"eval_every", 2},       {"eval_tokens", 256}};
}

TEST(CellParamsTest, AnExecutedCellBecomesATrainConfig) {
  auto cell = ExecutedCellOf(kTrainingCell, TrainingCell());
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->variant, "paci a=4");
  EXPECT_EQ(cell->run.schedule, "paci");
  EXPECT_EQ(cell->run.batches, 6);
  EXPECT_EQ(cell->run.accumulation, 4);
  EXPECT_EQ(cell->run.seed, 3u);
  EXPECT_EQ(cell->run.lr, 2e-3);
  EXPECT_EQ(cell->run.eval_every, 2);
  EXPECT_EQ(cell->run.eval_tokens, 256);
  EXPECT_EQ(cell->run.device, "cpu");  // a CPU experiment's cells carry no device
  json on_gpu = TrainingCell();
  on_gpu["device"] = "cuda:1";
  EXPECT_EQ(ExecutedCellOf(kTrainingCell, on_gpu)->run.device, "cuda:1");
}

TEST(CellParamsTest, AnExecutedCellNeedsALength) {
  json params = TrainingCell();
  params.erase("steps");
  EXPECT_THAT(ExecutedCellOf(kTrainingCell, params).status().message(),
              HasSubstr("needs 'steps', 'budget_seconds' or 'budget_flush_steps'"));
  params["budget_flush_steps"] = 300;
  auto cell = ExecutedCellOf(kTrainingCell, params);
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->budget_flush_steps, 300);
}

TEST(CellParamsTest, MissingAndMistypedFieldsAreNamedWithTheKind) {
  json params = TrainingCell();
  params.erase("micro_batch_size");
  EXPECT_THAT(ExecutedCellOf(kExecutorCell, params).status().message(),
              HasSubstr("executor cell: field 'micro_batch_size' is missing"));
  params = TrainingCell();
  params["stages"] = "two";
  EXPECT_THAT(ExecutedCellOf(kDistributedCell, params).status().message(),
              HasSubstr("distributed cell: field 'stages'"));
}

TEST(CellParamsTest, SimulateCellsTakeMeasuredOrInlineCosts) {
  json measured = {{"schedule", "1f1b_flush"}, {"stages", 4},   {"microbatches", 8},
                   {"accumulation", 8},        {"chunks", 1},   {"batches", 2},
                   {"model", "layers=4"},      {"micro_batch_size", 8},
                   {"link", {{"latency_seconds", 1e-5}, {"bandwidth_bytes_per_second", 1e9}}}};
  auto cell = SimulateCellOf(measured);
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->variant, "1f1b_flush");
  EXPECT_EQ(cell->schedule_params.batches, 2);
  EXPECT_EQ(cell->link_bandwidth_bytes_per_second, 1e9);
  EXPECT_FALSE(cell->inline_costs.has_value());

  json inline_costs = measured;
  inline_costs.erase("link");
  inline_costs["costs"] = {{"stages", json::array({{{"forward", 1.0}}})}};
  cell = SimulateCellOf(inline_costs);
  ASSERT_TRUE(cell.ok()) << cell.status();
  ASSERT_TRUE(cell->inline_costs.has_value());
  inline_costs["costs"] = "not a cost model";
  EXPECT_THAT(SimulateCellOf(inline_costs).status().message(), HasSubstr("field 'costs'"));
  measured.erase("link");
  EXPECT_THAT(SimulateCellOf(measured).status().message(), HasSubstr("'link' is missing"));
}

TEST(CellParamsTest, NasCellsCheckTheirChoices) {
  NasPreset tanglenas;
  tanglenas.name = "tanglenas";
  tanglenas.dropout = 0.2;
  json params = {{"space", "configs/nas/tiny.json"},
                 {"data", "synthetic"},
                 {"optimizer", "gdas"},
                 {"storage", "separate"},
                 {"attention", "exact"},
                 {"steps", 3},
                 {"batch_size", 2},
                 {"seed", 1},
                 {"retrain_steps", 4},
                 {"retrain_from", {"scratch"}},
                 {"search_candidates", 8},
                 {"random_architectures", 2},
                 {"checkpoints", 3},
                 {"preset", NasPresetToJson(tanglenas)}};
  auto cell = NasCellOf(params);
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->job.search.method, SearchMethod(SamplerKind::kGdas));
  EXPECT_EQ(cell->job.search.storage, WeightStorage::kSeparate);
  EXPECT_EQ(cell->job.search.preset.name, "tanglenas");
  EXPECT_DOUBLE_EQ(cell->job.search.preset.dropout, 0.2);
  EXPECT_TRUE(cell->job.retrain.scratch);
  EXPECT_FALSE(cell->job.retrain.finetune);
  params["storage"] = "shared";
  EXPECT_THAT(NasCellOf(params).status().message(), HasSubstr("field 'storage'"));
  params["storage"] = "entangled";
  params["optimizer"] = "adam";
  EXPECT_THAT(NasCellOf(params).status().message(), HasSubstr("field 'optimizer'"));
  params["optimizer"] = "random";
  params.erase("storage");
  params.erase("attention");
  ASSERT_TRUE(NasCellOf(params).ok());
  EXPECT_EQ(NasCellOf(params)->job.search.method, SearchMethod());
  params["retrain_from"] = {"warm"};
  EXPECT_THAT(NasCellOf(params).status().message(), HasSubstr("'warm' is neither"));
  params["retrain_from"] = {"inherited"};
  params["preset"]["weights"]["beta1"] = "high";
  EXPECT_THAT(NasCellOf(params).status().message(),
              HasSubstr("field 'preset': preset 'tanglenas': weights.beta1 must be a number"));
}

TEST(CellParamsTest, NasCostCellsTakeTheirModelSettingsFromThePreset) {
  NasPreset tied;
  tied.tied_embeddings = true;
  json params = {{"space", "configs/nas/tiny.json"}, {"data", "synthetic"},
                 {"storage", "entangled"},          {"attention", "reference"},
                 {"mixing", "one_hot"},             {"batch_size", 4},
                 {"steps", 2},                      {"preset", NasPresetToJson(tied)}};
  auto cell = NasCostCellOf(params);
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_EQ(cell->cost.mixing, Mixing::kOneHot);
  EXPECT_EQ(cell->cost.network.attention, AttentionMode::kReference);
  EXPECT_TRUE(cell->cost.network.tied_embeddings);
  params["mixing"] = "sparse";
  EXPECT_THAT(NasCostCellOf(params).status().message(),
              HasSubstr("nas_cost cell: field 'mixing': unknown mixing 'sparse'"));
}

TEST(CellParamsTest, NasPipelineCellsBecomeAPipelinedSearchAndItsCosts) {
  auto config = ParseExperimentConfig(R"({
    "experiment": "x", "description": "d", "seeds": [3],
    "studies": [{"name": "s", "kind": "nas", "space": "configs/nas/tiny.json",
                 "optimizers": ["gdas"], "storages": ["separate"], "steps": 5, "batch_size": 8,
                 "gdas_temperature": 0.5, "retrain_steps": 7, "retrain_from": ["scratch"],
                 "pipelines": [{"schedule": "paci", "stages": 2, "microbatches": 4}]}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->cells.size(), 2u);
  ASSERT_EQ(config->cells[0].kind, kNasPipelineCostsCell);
  auto costs = NasPipelineCostsCellOf(config->cells[0].params);
  ASSERT_TRUE(costs.ok()) << costs.status();
  EXPECT_EQ(costs->model_stages, 2);
  EXPECT_EQ(costs->search.micro_batch_size, 2);
  EXPECT_EQ(costs->search.sampler, SamplerKind::kGdas);
  EXPECT_EQ(costs->search.storage, WeightStorage::kSeparate);
  EXPECT_DOUBLE_EQ(costs->search.gdas_temperature, 0.5);
  const Cell& search_cell = config->cells[1];
  EXPECT_EQ(search_cell.costs_key, config->cells[0].key);
  auto search = NasPipelineCellOf(search_cell.params);
  ASSERT_TRUE(search.ok()) << search.status();
  const PipelineSearchOptions& options = search->job.search;
  EXPECT_EQ(options.schedule, "paci");
  EXPECT_EQ(options.stages, 2);
  EXPECT_EQ(options.microbatches, 4);
  EXPECT_EQ(options.accumulation, 4);
  EXPECT_EQ(options.micro_batch_size, 2);
  EXPECT_EQ(options.steps, 5);
  EXPECT_EQ(options.seed, 3u);
  EXPECT_EQ(options.preset.name, "pipebench");
  EXPECT_EQ(search->job.retrain_steps, 7);
  EXPECT_TRUE(search->job.retrain.scratch);
  EXPECT_FALSE(search->job.retrain.finetune);
  json params = search_cell.params;
  params["optimizer"] = "random";
  EXPECT_THAT(NasPipelineCellOf(params).status().message(),
              HasSubstr("nas_pipeline cell: field 'optimizer': 'random' trains no supernet"));
  params.erase("schedule");
  EXPECT_THAT(NasPipelineCellOf(params).status().message(),
              HasSubstr("nas_pipeline cell: field 'schedule' is missing"));
}

TEST(CellParamsTest, CostsCells) {
  auto cell = CostsCellOf({{"model", "layers=2"}, {"data", "synthetic"}, {"model_stages", 2},
                           {"micro_batch_size", 4}, {"partition", "time"}});
  ASSERT_TRUE(cell.ok()) << cell.status();
  EXPECT_TRUE(cell->balance_by_time);
  EXPECT_EQ(cell->model_stages, 2);
  EXPECT_EQ(cell->device, "cpu");
  auto on_gpu = CostsCellOf({{"model", "layers=2"}, {"data", "synthetic"}, {"model_stages", 2},
                             {"micro_batch_size", 4}, {"device", "cuda"}});
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();
  EXPECT_EQ(on_gpu->device, "cuda");
}

}  // namespace
}  // namespace pipebench
