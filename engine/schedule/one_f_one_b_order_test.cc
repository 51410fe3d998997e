#include "engine/schedule/one_f_one_b_order.h"

#include <string>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

// Every input is ready: the program's own order, as a string.
class AllReady : public RankView {
 public:
  bool ForwardInputReady(int, int) const override { return true; }
  bool BackwardInputReady(int, int) const override { return true; }
};

std::string Drain(RankProgram& program) {
  AllReady view;
  std::string text;
  for (int guard = 0; guard < 10000; ++guard) {
    const Decision d = program.Next(view);
    if (d.kind != Decision::Kind::kRun) break;
    program.Started(d.action);
    text += ToString(d.action) + " ";
  }
  return text;
}

TEST(OneFOneBOrderTest, WarmupSteadyCooldown) {
  OneFOneBProgram program(/*segments=*/1, /*count=*/4, /*warmup=*/2, /*update_every=*/0);
  EXPECT_EQ(Drain(program), "F0 F1 F2 B0 F3 B1 B2 B3 U ");
}

TEST(OneFOneBOrderTest, EachSegmentIsClosedByAnUpdateWhenThereIsNoCadence) {
  OneFOneBProgram program(/*segments=*/2, /*count=*/3, /*warmup=*/1, /*update_every=*/0);
  EXPECT_EQ(Drain(program), "F0 F1 B0 F2 B1 B2 U F3 F4 B3 F5 B4 B5 U ");
}

TEST(OneFOneBOrderTest, UpdateCadenceCountsBackwards) {
  OneFOneBProgram program(1, 4, 1, /*update_every=*/2);
  EXPECT_EQ(Drain(program), "F0 F1 B0 F2 B1 U F3 B2 B3 U ");
}

TEST(OneFOneBOrderTest, WarmupIsClampedToCount) {
  EXPECT_EQ(OneFOneBWarmup(/*stages=*/8, /*rank=*/0, /*count=*/3), 3);
  EXPECT_EQ(OneFOneBWarmup(8, 7, 3), 0);
  EXPECT_EQ(OneFOneBWarmup(8, 2, 100), 5);
  OneFOneBProgram program(1, 2, /*warmup=*/5, 0);
  EXPECT_EQ(Drain(program), "F0 F1 B0 B1 U ");
}

TEST(OneFOneBOrderTest, ContinuousOrderAddsTrailingStepForPartialWindow) {
  ScheduleParams params;
  params.stages = 2;
  params.microbatches = 3;
  params.batches = 1;
  auto program = ContinuousOneFOneB(params, /*rank=*/1, /*update_every=*/2);
  EXPECT_EQ(Drain(*program), "F0 B0 F1 B1 U F2 B2 U ");
}

TEST(OneFOneBOrderTest, NoSecondStepWhenTheCadenceEndsTheRun) {
  ScheduleParams params;
  params.stages = 2;
  params.microbatches = 2;
  params.batches = 2;
  auto program = ContinuousOneFOneB(params, /*rank=*/0, /*update_every=*/2);
  EXPECT_EQ(Drain(*program), "F0 F1 B0 F2 B1 U F3 B2 B3 U ");
}

}  // namespace
}  // namespace pipebench
