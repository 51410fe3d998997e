#include "engine/schedule/weight_policy.h"

#include <memory>
#include <string>

#include "engine/schedule/registry.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

WeightPolicy PolicyOf(const std::string& name, int p, int model_stage) {
  ScheduleParams params;
  params.stages = p;
  params.microbatches = 2 * p;
  auto schedule = MakeSchedule(name, params);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  return schedule.ok() ? (*schedule)->weight_policy(model_stage) : WeightPolicy();
}

TEST(WeightPolicyTest, OneCopySchedulesAdjustNothing) {
  for (const char* name : {"gpipe", "1f1b_flush", "zb_h1", "zb_h2", "paci", "async_naive"}) {
    const WeightPolicy policy = PolicyOf(name, 4, 0);
    EXPECT_FALSE(policy.stash) << name;
    EXPECT_EQ(policy.backward_extrapolation, 0) << name;
    EXPECT_EQ(policy.LearningRateScale(0, 10), 1.0) << name;
    EXPECT_EQ(policy.Describe(), "one copy") << name;
  }
}

TEST(WeightPolicyTest, StashingSchedulesPromiseTheirVersionCounts) {
  for (int stage = 0; stage < 4; ++stage) {
    const WeightPolicy pipedream = PolicyOf("pipedream", 4, stage);
    EXPECT_TRUE(pipedream.stash);
    EXPECT_EQ(pipedream.max_versions, 4 - stage);
    const WeightPolicy two_bw = PolicyOf("pipedream_2bw", 4, stage);
    EXPECT_TRUE(two_bw.stash);
    EXPECT_EQ(two_bw.max_versions, 2);
  }
  EXPECT_EQ(PolicyOf("pipedream_2bw", 4, 0).Describe(), "stashed, at most 2 versions");
  EXPECT_TRUE(PolicyOf("paci_stashed", 4, 0).stash);
}

// PipeMare's corrections scale with each stage's delay p - s - 1 and vanish on the last stage.
TEST(WeightPolicyTest, PipeMareCorrectsEachStageByItsDelay) {
  const WeightPolicy first = PolicyOf("pipemare", 4, 0);
  EXPECT_FALSE(first.stash);
  EXPECT_EQ(first.backward_extrapolation, 3);
  EXPECT_DOUBLE_EQ(first.LearningRateScale(0, 10), 0.25);
  EXPECT_DOUBLE_EQ(first.LearningRateScale(5, 10), 0.625);
  EXPECT_DOUBLE_EQ(first.LearningRateScale(10, 10), 1.0);
  EXPECT_DOUBLE_EQ(first.LearningRateScale(3, 0), 1.0);
  EXPECT_EQ(first.Describe(), "one copy, backward extrapolated 3 updates, scaled learning rate");
  EXPECT_EQ(PolicyOf("pipemare", 4, 2).backward_extrapolation, 1);
  const WeightPolicy last = PolicyOf("pipemare", 4, 3);
  EXPECT_EQ(last.backward_extrapolation, 0);
  EXPECT_EQ(last.LearningRateScale(0, 10), 1.0);
}

}  // namespace
}  // namespace pipebench
