#include "benchmarks/harness/pinned_costs.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

PinnedCosts TwoCuts() {
  PinnedCosts pinned;
  pinned.description = "a test";
  pinned.model = "layers=2,embed=16,heads=2,mlp_ratio=2,context=8";
  pinned.micro_batch_size = 4;
  pinned.repeats = 3;
  pinned.made_by = {{"git_commit", "abc"}};
  PinnedCut whole;
  whole.compute_seconds = 1.0;
  whole.spread = 0.02;
  whole.costs.stages = {{.forward = 0.3, .backward_input = 0.3, .backward_weight = 0.4}};
  PinnedCut halves;
  halves.model_stages = 2;
  halves.compute_seconds = 1.01;
  halves.spread = 0.01;
  halves.costs.stages = {{.forward = 0.15}, {.forward = 0.16}};
  halves.costs.memory = {{.parameter_bytes = 10}, {.parameter_bytes = 12}};
  pinned.cuts = {whole, halves};
  return pinned;
}

TEST(PinnedCostsTest, SavesAndLoadsEveryField) {
  const PinnedCosts original = TwoCuts();
  const json saved = PinnedCostsToJson(original);
  ASSERT_TRUE(IsPinnedCostsJson(saved));
  absl::StatusOr<PinnedCosts> loaded = ParsePinnedCosts(saved);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(PinnedCostsToJson(*loaded), saved);
  EXPECT_EQ(loaded->model, original.model);
  EXPECT_EQ(loaded->micro_batch_size, 4);
  EXPECT_EQ(loaded->made_by["git_commit"], "abc");
  ASSERT_NE(loaded->Cut(2), nullptr);
  EXPECT_DOUBLE_EQ(loaded->Cut(2)->costs.stages[1].forward, 0.16);
  EXPECT_EQ(loaded->Cut(2)->costs.memory[1].parameter_bytes, 12);
  EXPECT_EQ(loaded->Cut(3), nullptr);
}

TEST(PinnedCostsTest, ErrorsNameTheField) {
  json file = PinnedCostsToJson(TwoCuts());
  json bad = file;
  bad.erase("model");
  EXPECT_THAT(ParsePinnedCosts(bad).status().message(), HasSubstr("model: required"));
  bad = file;
  bad["cuts"][1]["costs"]["stages"].push_back(bad["cuts"][1]["costs"]["stages"][0]);
  EXPECT_THAT(ParsePinnedCosts(bad).status().message(),
              HasSubstr("cuts[1].costs: cost model has 3 stages entries"));
  bad = file;
  bad["cuts"][1] = bad["cuts"][0];
  EXPECT_THAT(ParsePinnedCosts(bad).status().message(), HasSubstr("cut 1 appears twice"));
  bad = file;
  bad["cuts"][0]["spread"] = -1;
  EXPECT_THAT(ParsePinnedCosts(bad).status().message(), HasSubstr("cuts[0].spread"));
  bad = file;
  bad["tolerance"] = 0;
  EXPECT_THAT(ParsePinnedCosts(bad).status().message(), HasSubstr("tolerance: unknown key"));
}

TEST(PinnedCostsTest, ACutDisagreesWhenItsComputeLeavesBothSpreads) {
  PinnedCosts pinned = TwoCuts();
  EXPECT_TRUE(Disagreements(pinned).empty());  // 1% apart, 3% of spread
  pinned.cuts[1].compute_seconds = 0.95;
  const std::vector<CutDisagreement> differ = Disagreements(pinned);
  ASSERT_EQ(differ.size(), 1u);
  EXPECT_EQ(differ[0].model_stages, 2);
  EXPECT_NEAR(differ[0].relative_difference, -0.05, 1e-12);
  EXPECT_NEAR(differ[0].allowed, 0.03, 1e-12);
  pinned.cuts.erase(pinned.cuts.begin());  // no whole model: nothing to compare with
  EXPECT_TRUE(Disagreements(pinned).empty());
}

TEST(PinnedCostsTest, CommittedPinnedFilesLoadWithTheirProvenance) {
  int pinned_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator("configs/costs")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const json file = json::parse(in);
    if (!IsPinnedCostsJson(file)) continue;
    ++pinned_files;
    absl::StatusOr<PinnedCosts> pinned = LoadPinnedCosts(entry.path().string());
    ASSERT_TRUE(pinned.ok()) << pinned.status();
    EXPECT_NE(pinned->Cut(1), nullptr) << entry.path();
    EXPECT_TRUE(pinned->made_by.contains("git_commit")) << entry.path();
    EXPECT_TRUE(pinned->made_by.contains("command")) << entry.path();
  }
  EXPECT_GT(pinned_files, 0);
}

}  // namespace
}  // namespace pipebench
