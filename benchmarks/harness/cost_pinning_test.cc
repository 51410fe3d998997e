#include "benchmarks/harness/cost_pinning.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

PinRequest Tiny() {
  PinRequest request;
  request.model = "layers=2,embed=16,heads=2,mlp_ratio=2,context=8";
  request.data = "synthetic";
  request.micro_batch_size = 2;
  request.cuts = {2};
  request.repeats = 3;
  return request;
}

TEST(CostPinningTest, MeasuresTheWholeModelAndEveryCut) {
  absl::StatusOr<PinnedCosts> pinned = MeasurePinnedCosts(Tiny());
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  ASSERT_EQ(pinned->cuts.size(), 2u);
  EXPECT_EQ(pinned->repeats, 3);
  for (const PinnedCut& cut : pinned->cuts) {
    EXPECT_EQ(cut.costs.stages.size(), static_cast<size_t>(cut.model_stages));
    EXPECT_TRUE(cut.costs.Validate(cut.model_stages).ok());
    EXPECT_GT(cut.compute_seconds, 0);
    EXPECT_GE(cut.spread, 0);
  }
  // The two halves hold the whole model's parameters between them.
  const CostModel& whole = pinned->Cut(1)->costs;
  const CostModel& halves = pinned->Cut(2)->costs;
  EXPECT_EQ(halves.memory[0].parameter_bytes + halves.memory[1].parameter_bytes,
            whole.memory[0].parameter_bytes);
  // What it measured loads back as a pinned file.
  EXPECT_TRUE(ParsePinnedCosts(PinnedCostsToJson(*pinned)).ok());
}

TEST(CostPinningTest, BadRequestsAreErrors) {
  PinRequest request = Tiny();
  request.repeats = 0;
  EXPECT_THAT(MeasurePinnedCosts(request).status().message(), HasSubstr("repeats"));
  request = Tiny();
  request.cuts = {0};
  EXPECT_THAT(MeasurePinnedCosts(request).status().message(), HasSubstr("cut 0"));
  request = Tiny();
  request.cuts = {64};
  EXPECT_THAT(MeasurePinnedCosts(request).status().message(), HasSubstr("cut 64"));
  request = Tiny();
  request.partition = "blocks";
  EXPECT_THAT(MeasurePinnedCosts(request).status().message(), HasSubstr("partition"));
}

}  // namespace
}  // namespace pipebench
