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
  EXPECT_EQ(progress.Line(65, 10), "[######....] 3/5 cells, 1 failed, 01:05 elapsed, ETA 00:51");
}

TEST(ProgressTest, FormatsDurations) {
  EXPECT_EQ(FormatDuration(0), "00:00");
  EXPECT_EQ(FormatDuration(59.6), "01:00");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
}

}  // namespace
}  // namespace pipebench
