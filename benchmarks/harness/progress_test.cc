#include "benchmarks/harness/progress.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(ProgressTest, EtaChargesEachKindItsOwnMeanDuration) {
  Progress progress({"sim", "sim", "sim", "training", "training"}, /*parallel=*/2);
  EXPECT_LT(progress.EstimatedSecondsLeft(), 0);  // nothing known yet
  progress.Finished("sim", 0.5, true);
  // No training run has finished: they are charged the overall mean meanwhile.
  EXPECT_DOUBLE_EQ(progress.EstimatedSecondsLeft(), (2 * 0.5 + 2 * 0.5) / 2);
  progress.Finished("training", 100, true);
  // 2 sims at 0.5 s and 1 training run at 100 s, two at a time.
  EXPECT_DOUBLE_EQ(progress.EstimatedSecondsLeft(), (2 * 0.5 + 100) / 2);
  progress.Finished("sim", 1.5, false);
  EXPECT_EQ(progress.Line(65, {}, 10), "[######....] 3/5 cells, 1 failed, 01:05 elapsed, ETA 00:51");
}

// The paper run's line once stood still for minutes while two long cells ran: running cells now
// show their steps, and the ETA follows their progress.
TEST(ProgressTest, RunningCellsCorrectTheEstimateAndAreShown) {
  Progress progress({"training", "training", "training"}, /*parallel=*/2);
  // Nothing finished: a running cell that did 100 of 300 steps in 60 s is expected at 180 s, so
  // it has 120 s left, and the queued one is charged 180 s.
  std::vector<RunningCell> running = {{"training", "tta paci seed 0", 60, 100, 300},
                                      {"training", "tta 1f1b_flush seed 0", 60, 0, 0}};
  // The second (no steps yet) is charged the kind's extrapolation, 180 - 60 = 120 s.
  EXPECT_DOUBLE_EQ(progress.EstimatedSecondsLeft(running), (120 + 120 + 180) / 2.0);
  EXPECT_EQ(progress.Line(60, running, 4),
            "[....] 0/3 cells, 01:00 elapsed, ETA 03:30 | running: tta paci seed 0 100/300, "
            "tta 1f1b_flush seed 0 01:00");
  // Later the same cell reports more steps, faster than first thought: the estimate drops.
  running[0].elapsed_seconds = 90;
  running[0].steps_done = 200;
  running[1].elapsed_seconds = 90;
  const double later = progress.EstimatedSecondsLeft(running);
  EXPECT_DOUBLE_EQ(later, (45 + (135 - 90) + 135) / 2.0);
  // A finished cell replaces the extrapolation by its measured duration.
  progress.Finished("training", 100, true);
  EXPECT_DOUBLE_EQ(progress.EstimatedSecondsLeft({running[1]}), (100 - 90 + 100) / 2.0);
}

TEST(ProgressTest, FormatsDurations) {
  EXPECT_EQ(FormatDuration(0), "00:00");
  EXPECT_EQ(FormatDuration(59.6), "01:00");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
}

}  // namespace
}  // namespace pipebench
