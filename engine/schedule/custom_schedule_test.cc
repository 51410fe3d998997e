#include "engine/schedule/custom_schedule.h"

#include "engine/schedule/static_program.h"
#include "engine/testing/schedule_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::ActionsOf;

TEST(CustomScheduleTest, ParsesRanksActionsAndShape) {
  auto schedule = ParseCustomSchedule(
      "# two ranks\n"
      "rank 0: F0 F1 B0 B1 U\n"
      "rank 1: F0 I0 W0 F1.1 B1.1 U   # trailing comment\n");
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ((*schedule)->params().stages, 2);
  EXPECT_EQ((*schedule)->params().microbatches, 2);
  EXPECT_EQ((*schedule)->params().chunks, 2);
  EXPECT_TRUE((*schedule)->splits_backward());
  const std::vector<Action> rank1 = ActionsOf(**schedule, 1);
  ASSERT_EQ(rank1.size(), 6u);
  EXPECT_EQ(rank1[1], Action::BackwardInput(0));
  EXPECT_EQ(rank1[3], Action::Forward(1, 1));
  EXPECT_EQ(rank1[5], Action::OptimizerStep());
}

TEST(CustomScheduleTest, NamesTheBadTokenAndLine) {
  auto schedule = ParseCustomSchedule("rank 0: F0 B0\nrank 1: F0 X3\n");
  ASSERT_FALSE(schedule.ok());
  EXPECT_NE(schedule.status().message().find("line 2, token 'X3'"), std::string::npos)
      << schedule.status();
}

TEST(CustomScheduleTest, RejectsAChunkOverTheLimit) {
  auto schedule = ParseCustomSchedule("rank 0: F0.40000 B0.40000\n");
  ASSERT_FALSE(schedule.ok());
  EXPECT_NE(schedule.status().message().find("chunk 40000 is over the limit of 32766"),
            std::string::npos)
      << schedule.status();
}

TEST(CustomScheduleTest, RejectsAMicrobatchTooLargeToCount) {
  auto schedule = ParseCustomSchedule("rank 0: F2147483647 B2147483647\n");
  ASSERT_FALSE(schedule.ok());
  EXPECT_NE(schedule.status().message().find("micro-batch 2147483647 is too large"),
            std::string::npos)
      << schedule.status();
}

TEST(CustomScheduleTest, RejectsRanksOutOfOrder) {
  auto schedule = ParseCustomSchedule("rank 1: F0 B0\n");
  ASSERT_FALSE(schedule.ok());
  EXPECT_NE(schedule.status().message().find("expected rank 0"), std::string::npos);
}

// Where the stages live: looped unless the text says otherwise.
TEST(CustomScheduleTest, ReadsItsPlacement) {
  const std::string actions = "rank 0: F0 F0.1 B0.1 B0\nrank 1: F0 F0.1 B0.1 B0\n";
  auto looped = ParseCustomSchedule(actions);
  ASSERT_TRUE(looped.ok()) << looped.status();
  EXPECT_EQ((*looped)->placement().Describe(), "0 1 0 1");
  auto v = ParseCustomSchedule("placement: v\n" + actions);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)->placement().Describe(), "0 1 1 0");
  auto table = ParseCustomSchedule(actions + "placement: 1 0 0 1  # rank 1 holds both ends\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->StageOf(1, 1), 3);
  EXPECT_EQ((*table)->RankOfStage(0), 1);
}

TEST(CustomScheduleTest, RejectsAPlacementThatDoesNotFitItsActions) {
  auto few = ParseCustomSchedule("placement: 0 1\nrank 0: F0.1 B0.1\nrank 1: F0 B0\n");
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("gives each rank 1 stages, but its actions use chunk 1"),
            std::string::npos)
      << few.status();
  auto word = ParseCustomSchedule("placement: zigzag\nrank 0: F0 B0\n");
  ASSERT_FALSE(word.ok());
  EXPECT_NE(word.status().message().find("line 1: expected 'looped', 'v' or the rank"),
            std::string::npos)
      << word.status();
}

}  // namespace
}  // namespace pipebench
