#include "engine/schedule/placement.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every placement is a bijection between stages and (rank, chunk) pairs.
void ExpectConsistent(const Placement& placement) {
  for (int stage = 0; stage < placement.stages(); ++stage) {
    EXPECT_EQ(placement.StageOf(placement.RankOf(stage), placement.ChunkOf(stage)), stage);
  }
}

TEST(PlacementTest, LoopedWrapsTheModelAroundTheRanks) {
  const Placement placement = Placement::Looped(4, 2);
  EXPECT_EQ(placement.Describe(), "0 1 2 3 0 1 2 3");
  EXPECT_EQ(placement.kind(), "looped");
  for (int stage = 0; stage < 8; ++stage) {
    EXPECT_EQ(placement.RankOf(stage), stage % 4);
    EXPECT_EQ(placement.ChunkOf(stage), stage / 4);
  }
  ExpectConsistent(placement);
}

TEST(PlacementTest, VPutsStagesIAnd2pMinus1MinusIOnRankI) {
  const Placement placement = Placement::V(4, 2);
  EXPECT_EQ(placement.Describe(), "0 1 2 3 3 2 1 0");
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_THAT(placement.StagesOn(rank), ElementsAre(rank, 2 * 4 - 1 - rank));
  }
  ExpectConsistent(placement);
}

TEST(PlacementTest, VWithMoreChunksZigzags) {
  const Placement placement = Placement::V(3, 3);
  EXPECT_EQ(placement.Describe(), "0 1 2 2 1 0 0 1 2");
  ExpectConsistent(placement);
}

TEST(PlacementTest, OneChunkPlacementsAgree) {
  EXPECT_TRUE(Placement::V(5, 1) == Placement::Looped(5, 1));
  EXPECT_FALSE(Placement::V(5, 2) == Placement::Looped(5, 2));
}

TEST(PlacementTest, ExplicitNumbersEachRanksChunksInModelOrder) {
  const absl::StatusOr<Placement> placement = Placement::Explicit(2, {1, 0, 0, 1});
  ASSERT_TRUE(placement.ok()) << placement.status();
  EXPECT_THAT(placement->StagesOn(0), ElementsAre(1, 2));
  EXPECT_THAT(placement->StagesOn(1), ElementsAre(0, 3));
  EXPECT_EQ(placement->ChunkOf(3), 1);
  ExpectConsistent(*placement);
}

TEST(PlacementTest, ExplicitRejectsUnevenOrOutOfRangeRanks) {
  EXPECT_THAT(Placement::Explicit(2, {0, 0, 1}).status().message(),
              HasSubstr("gives rank 1 1 stages and rank 0 2"));
  EXPECT_THAT(Placement::Explicit(2, {0, 2}).status().message(),
              HasSubstr("stage 1 on rank 2, outside [0, 2)"));
  EXPECT_FALSE(Placement::Explicit(2, {}).ok());
}

}  // namespace
}  // namespace pipebench
