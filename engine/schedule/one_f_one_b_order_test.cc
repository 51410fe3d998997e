#include "engine/schedule/one_f_one_b_order.h"

#include <string>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

std::string Render(const std::vector<Action>& actions) {
  std::string text;
  for (const Action& a : actions) text += ToString(a) + " ";
  return text;
}

TEST(OneFOneBOrderTest, WarmupSteadyCooldown) {
  std::vector<Action> actions;
  AppendOneFOneB(/*first=*/4, /*count=*/4, /*warmup=*/2, /*update_every=*/0, &actions);
  EXPECT_EQ(Render(actions), "F4 F5 F6 B4 F7 B5 B6 B7 ");
}

TEST(OneFOneBOrderTest, UpdateCadenceCountsBackwards) {
  std::vector<Action> actions;
  AppendOneFOneB(0, 4, 1, /*update_every=*/2, &actions);
  EXPECT_EQ(Render(actions), "F0 F1 B0 F2 B1 U F3 B2 B3 U ");
}

TEST(OneFOneBOrderTest, WarmupIsClampedToCount) {
  EXPECT_EQ(OneFOneBWarmup(/*stages=*/8, /*rank=*/0, /*count=*/3), 3);
  EXPECT_EQ(OneFOneBWarmup(8, 7, 3), 0);
  EXPECT_EQ(OneFOneBWarmup(8, 2, 100), 5);
}

TEST(OneFOneBOrderTest, ContinuousOrderAddsTrailingStepForPartialWindow) {
  ScheduleParams params;
  params.stages = 2;
  params.microbatches = 3;
  params.batches = 1;
  auto program = ContinuousOneFOneB(params, /*rank=*/1, /*update_every=*/2);
  EXPECT_EQ(Render(program->actions()), "F0 B0 F1 B1 U F2 B2 U ");
}

}  // namespace
}  // namespace pipebench
