#include "nas/pipeline/pipeline_search.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

SearchSpace Space() {
  auto space = ParseSearchSpace(
      R"({"embed": [8, 16], "heads": [2, 4], "mlp_ratio": [1, 2], "layers": [2, 4],
          "context": 8})",
      16);
  EXPECT_TRUE(space.ok()) << space.status();
  return *space;
}

const TokenDataset& Data() {
  static const TokenDataset* data = new TokenDataset(TokenDataset::Synthetic(16, 40000, 3));
  return *data;
}

std::vector<double> Flatten(const nlohmann::json& value) {
  std::vector<double> out;
  if (value.is_number()) return {value.get<double>()};
  for (const auto& [key, item] : value.items()) {
    const std::vector<double> more = Flatten(item);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

PipelineSearchOptions Options(const std::string& schedule, int stages) {
  PipelineSearchOptions options;
  options.schedule = schedule;
  options.stages = stages;
  options.microbatches = 4;
  options.micro_batch_size = 4;
  options.steps = 6;
  options.preset.weights.config.learning_rate = 3e-3;
  options.preset.weights.config.warmup_steps = 1;
  options.preset.architecture.config.learning_rate = 3e-2;
  return options;
}

// The search derives the same architecture in one process and on four stages under 1F1B-flush,
// and under PACI stays within its drift bounds, the derived network an engine model.
TEST(PipelineSearchTest, FlushDerivesWhatOneProcessDoesAndPaciStaysInBounds) {
  auto one = RunPipelineSearch(Space(), Data(), Options("gpipe", 1));
  auto flush = RunPipelineSearch(Space(), Data(), Options("1f1b_flush", 4));
  auto paci = RunPipelineSearch(Space(), Data(), Options("paci", 4));
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(flush.ok()) << flush.status();
  ASSERT_TRUE(paci.ok()) << paci.status();
  const std::vector<double> a = Flatten(one->alpha_distributions);
  const std::vector<double> b = Flatten(flush->alpha_distributions);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), 2u + 2 + 4 * 2 + 4 * 2);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << "alpha entry " << i;
  EXPECT_EQ(GptConfigToJson(flush->derived), GptConfigToJson(one->derived));
  EXPECT_TRUE(flush->derived.Validate().ok());
  ASSERT_EQ(paci->summary.model_stages.size(), 4u);
  for (const ModelStageSummary& stage : paci->summary.model_stages) {
    EXPECT_LE(stage.max_drift, stage.drift_bound) << "stage " << stage.model_stage;
  }
  // Stage 0 (which owns the global choices) with a = m = 4 on 4 stages: ceil(3 / 4) = 1.
  EXPECT_EQ(paci->summary.model_stages[0].drift_bound, 1);
  EXPECT_EQ(paci->summary.model_stages[0].max_drift, 1);
  // Split by kind: mini-batches alternate, so stage 0's updates cross both ways - a weight
  // micro-batch's backward crosses the architecture update before it, and the reverse.
  for (const ModelStageSummary& stage : paci->summary.model_stages) {
    ASSERT_TRUE(stage.max_weight_drift && stage.max_architecture_drift);
    EXPECT_LE(*stage.max_weight_drift, stage.max_drift);
    EXPECT_LE(*stage.max_architecture_drift, stage.max_drift);
  }
  EXPECT_EQ(paci->summary.model_stages[0].max_weight_drift, 1);
  EXPECT_EQ(paci->summary.model_stages[0].max_architecture_drift, 1);
  for (const ModelStageSummary& stage : flush->summary.model_stages) {
    EXPECT_EQ(stage.max_weight_drift, 0);
    EXPECT_EQ(stage.max_architecture_drift, 0);
  }
  EXPECT_TRUE(std::isfinite(paci->final_validation_loss));
}

// Given stage costs time the run (nothing is measured again): twice the costs, twice the
// simulated search time, the same training.
TEST(PipelineSearchTest, GivenStageCostsTimeTheRun) {
  PipelineSearchOptions options = Options("paci", 2);
  absl::StatusOr<SupernetStageCosts> measured = MeasureSupernetStageCosts(Space(), options, 2);
  ASSERT_TRUE(measured.ok()) << measured.status();
  ASSERT_EQ(measured->partition.size(), 2u);
  EXPECT_GT(measured->costs.cost(0).forward, 0);
  SupernetStageCosts unit{measured->partition, CostModel()};
  SupernetStageCosts doubled = unit;
  doubled.costs.stages = {{.forward = 2, .backward_input = 2, .backward_weight = 2}};
  options.stage_costs = unit;
  auto once = RunPipelineSearch(Space(), Data(), options);
  options.stage_costs = doubled;
  auto twice = RunPipelineSearch(Space(), Data(), options);
  ASSERT_TRUE(once.ok()) << once.status();
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_DOUBLE_EQ(twice->summary.simulated->seconds, 2 * once->summary.simulated->seconds);
  EXPECT_EQ(twice->final_validation_loss, once->final_validation_loss);
  options.stage_costs = SupernetStageCosts{{{0, measured->partition.back().end}}, CostModel()};
  EXPECT_FALSE(RunPipelineSearch(Space(), Data(), options).ok())
      << "one stage's partition for a two-stage run";
}

// The derived network is judged as the single-process search judges it, and inherits the
// supernet's trained weights (it predicts better than a fresh network of the same shape).
TEST(PipelineSearchTest, JudgesTheDerivedNetworkWithItsInheritedWeights) {
  PipelineSearchJob job;
  job.search = Options("paci", 2);
  job.search.steps = 12;
  job.retrain_steps = 4;
  job.retrain.scratch = true;
  job.validation_batches = 2;
  auto result = RunPipelineSearch(Space(), Data(), job.search);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(GptConfigToJson(result->inherited.config), GptConfigToJson(result->derived));
  const double inherited = DerivedValidationLoss(result->inherited, Data(), 8, 16, 2, 0);
  const double fresh = DerivedValidationLoss(
      FreshNetwork(Space(), result->architecture, SupernetOptions(), 5), Data(), 8, 16, 2, 0);
  EXPECT_LT(inherited, fresh - 0.05);

  absl::StatusOr<nlohmann::json> record = PipelineSearchAndEvaluate(Space(), Data(), job);
  ASSERT_TRUE(record.ok()) << record.status();
  const nlohmann::json& derived = (*record)["derived"][0];
  EXPECT_DOUBLE_EQ(derived["val_loss_inherited"].get<double>(), inherited);
  EXPECT_TRUE(derived["val_loss_finetuned"].is_null());
  EXPECT_TRUE(std::isfinite(derived["val_loss_scratch"].get<double>()));
  EXPECT_EQ((*record)["retrain_steps"], 4);
  EXPECT_GT((*record)["unigram_val_loss"].get<double>(), 0);
  EXPECT_EQ((*record)["summary"]["model_stages"][0]["max_weight_drift"], 1);
  job.retrain.scratch = false;
  EXPECT_FALSE(PipelineSearchAndEvaluate(Space(), Data(), job).ok()) << "no way to retrain";
}

TEST(PipelineSearchTest, RefusesWhatItCannotSearchFaithfully) {
  PipelineSearchOptions options = Options("paci", 2);
  options.preset.weights.gradient_clip = 1.0;
  EXPECT_NE(RunPipelineSearch(Space(), Data(), options).status().message().find("clips"),
            std::string::npos);
  options = Options("paci", 2);
  options.steps = 0;
  EXPECT_FALSE(RunPipelineSearch(Space(), Data(), options).ok());
  options.steps = 1 << 30;  // two mini-batches a step would overflow the schedule's count
  EXPECT_FALSE(RunPipelineSearch(Space(), Data(), options).ok());
  options = Options("paci", 2);
  options.sampler = SamplerKind::kSpos;
  EXPECT_NE(RunPipelineSearch(Space(), Data(), options).status().message().find("spos"),
            std::string::npos);
  options = Options("paci", 2);
  options.accumulation = 3;
  EXPECT_NE(RunPipelineSearch(Space(), Data(), options).status().message().find("must divide"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
