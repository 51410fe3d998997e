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
  EXPECT_TRUE(std::isfinite(paci->final_validation_loss));
}

TEST(PipelineSearchTest, RefusesWhatItCannotSearchFaithfully) {
  PipelineSearchOptions options = Options("paci", 2);
  options.preset.weights.gradient_clip = 1.0;
  EXPECT_NE(RunPipelineSearch(Space(), Data(), options).status().message().find("clips"),
            std::string::npos);
  options = Options("paci", 2);
  options.steps = 0;
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
