#include "engine/schedule/registry.h"

#include <algorithm>

#include "engine/testing/schedule_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::Params;

// The paper's schedules are there (a new schedule file adds to the list, and fails nothing here).
TEST(RegistryTest, EveryPaperScheduleIsRegistered) {
  const std::vector<std::string> registered = RegisteredSchedules();
  const std::vector<std::string> expected = {
      "1f1b_flush", "async_naive", "dualpipe_v", "gpipe", "interleaved_1f1b", "interleaved_zb",
      "paci",       "pipedream",   "pipedream_2bw", "pipemare", "zb_1p", "zb_2p", "zb_h1",
      "zb_h2",      "zb_v", "v_half", "v_min"};
  for (const std::string& name : expected) {
    EXPECT_NE(std::find(registered.begin(), registered.end(), name), registered.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(registered.begin(), registered.end()));
  for (const std::string& name : registered) {
    auto schedule = MakeSchedule(name, testing::Accepted(name, Params(4, 8)));
    ASSERT_TRUE(schedule.ok()) << name << ": " << schedule.status();
    EXPECT_EQ((*schedule)->name(), name);
  }
}

// Where stages live is the schedule's: V-shaped schedules put stages r and 2p-1-r on rank r, the
// rest loop; a weight rule keeps its base schedule's placement.
TEST(RegistryTest, EachScheduleOwnsItsPlacement) {
  for (const char* name : {"zb_v", "v_half", "v_min", "dualpipe_v", "zb_v+nesterov"}) {
    auto schedule = MakeSchedule(name, Params(4, 8, 1, 0, 2));
    ASSERT_TRUE(schedule.ok()) << name << ": " << schedule.status();
    EXPECT_EQ((*schedule)->placement().kind(), "v") << name;
    EXPECT_EQ((*schedule)->RankOfStage(6), 1) << name;
    EXPECT_EQ((*schedule)->ChunkOfStage(6), 1) << name;
    EXPECT_EQ((*schedule)->StageOf(3, 1), 4) << name;
  }
  for (const char* name : {"interleaved_1f1b", "interleaved_zb"}) {
    auto schedule = MakeSchedule(name, Params(4, 8, 1, 0, 2));
    ASSERT_TRUE(schedule.ok()) << name << ": " << schedule.status();
    EXPECT_EQ((*schedule)->placement().kind(), "looped") << name;
    EXPECT_EQ((*schedule)->RankOfStage(6), 2) << name;
  }
}

TEST(RegistryTest, UnknownNameListsTheKnownOnes) {
  auto schedule = MakeSchedule("pipedream3", Params(4, 8));
  ASSERT_EQ(schedule.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(schedule.status().message().find("'pipedream3'"), std::string::npos);
  EXPECT_NE(schedule.status().message().find("paci"), std::string::npos);
}

// A weight rule keeps the base schedule's timeline and promises and changes its weight policy.
TEST(RegistryTest, WeightRulesRewriteOnlyTheWeightPolicy) {
  EXPECT_NE(std::find(RegisteredWeightRules().begin(), RegisteredWeightRules().end(), "nesterov"),
            RegisteredWeightRules().end());
  for (const std::string base : {"paci", "pipedream_2bw", "pipedream", "1f1b_flush", "zb_h1"}) {
    auto plain = MakeSchedule(base, Params(4, 8, 2));
    auto ruled = MakeSchedule(base + "+nesterov", Params(4, 8, 2));
    ASSERT_TRUE(plain.ok() && ruled.ok()) << base << ": " << ruled.status();
    EXPECT_EQ((*ruled)->name(), base + "+nesterov");
    EXPECT_EQ((*ruled)->synchronous(), (*plain)->synchronous()) << base;
    EXPECT_EQ((*ruled)->splits_backward(), (*plain)->splits_backward()) << base;
    for (int rank = 0; rank < 4; ++rank) {
      EXPECT_EQ((*ruled)->DriftBound(rank), (*plain)->DriftBound(rank)) << base;
      const WeightPolicy policy = (*ruled)->weight_policy(rank);
      EXPECT_EQ(policy.nesterov_beta1, 0.99) << base;
      EXPECT_EQ(policy.stash, (*plain)->weight_policy(rank).stash) << base;
      EXPECT_EQ((*plain)->weight_policy(rank).nesterov_beta1, 0) << base;
    }
    EXPECT_NE((*ruled)->weight_policy(0).Describe().find("Nesterov look-ahead (beta1 0.99)"),
              std::string::npos);
  }
  EXPECT_TRUE(CheckScheduleName("paci+nesterov").ok());
}

TEST(RegistryTest, AnUnknownOrRepeatedRuleIsOneClearError) {
  auto unknown = MakeSchedule("paci+momentum", Params(4, 8));
  ASSERT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("'paci+momentum'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("weight rules (added as schedule+rule): nesterov"),
            std::string::npos);
  EXPECT_EQ(CheckScheduleName("paci+").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CheckScheduleName("+nesterov").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CheckScheduleName("pipedream3+nesterov").code(), absl::StatusCode::kNotFound);
  auto twice = MakeSchedule("paci+nesterov+nesterov", Params(4, 8));
  ASSERT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(twice.status().message().find(
                "paci+nesterov+nesterov: weight rule 'nesterov': the schedule already steps with "
                "Nesterov look-ahead"),
            std::string::npos)
      << twice.status();
  // The base schedule's own parameter checks still apply.
  EXPECT_NE(MakeSchedule("pipedream_2bw+nesterov", Params(4, 2)).status().message().find(
                "microbatches (2) must be >= stages (4)"),
            std::string::npos);
}

TEST(RegistryTest, BadParametersNameTheParameter) {
  EXPECT_NE(MakeSchedule("gpipe", Params(0, 8)).status().message().find("stages must be >= 1"),
            std::string::npos);
  EXPECT_NE(MakeSchedule("gpipe", Params(4, 0)).status().message().find("microbatches"),
            std::string::npos);
  ScheduleParams negative_a = Params(4, 8);
  negative_a.accumulation = -1;
  EXPECT_NE(MakeSchedule("paci", negative_a).status().message().find("accumulation"),
            std::string::npos);
  EXPECT_NE(MakeSchedule("pipedream_2bw", Params(4, 2)).status().message().find(
                "microbatches (2) must be >= stages (4)"),
            std::string::npos);
  EXPECT_NE(MakeSchedule("interleaved_1f1b", Params(4, 6)).status().message().find(
                "multiple of stages"),
            std::string::npos);
  EXPECT_NE(MakeSchedule("zb_v", Params(4, 8)).status().message().find(
                "zb_v: chunks must be 2 (each rank holds two stages in a V), got 1"),
            std::string::npos);
  EXPECT_NE(MakeSchedule("dualpipe_v", Params(4, 6, 1, 0, 2)).status().message().find(
                "microbatches (6) must be >= 2 x stages (8)"),
            std::string::npos);
  ScheduleParams chunked = Params(4, 8);
  chunked.chunks = 2;
  EXPECT_NE(MakeSchedule("1f1b_flush", chunked).status().message().find("chunks must be 1"),
            std::string::npos);
  // An action holds its chunk in 16 bits.
  ScheduleParams too_many_chunks = Params(4, 8);
  too_many_chunks.chunks = Action::kMaxChunks + 1;
  EXPECT_NE(MakeSchedule("interleaved_1f1b", too_many_chunks)
                .status()
                .message()
                .find("chunks must be <= 32767, got 32768"),
            std::string::npos);
}

TEST(RegistryTest, DriftBoundsMatchEachScheduleRule) {
  ScheduleParams params = Params(8, 8);
  params.accumulation = 4;
  auto paci = MakeSchedule("paci", params);
  ASSERT_TRUE(paci.ok());
  EXPECT_EQ((*paci)->DriftBound(0), 2);  // ceil(7 / 4)
  EXPECT_EQ((*paci)->DriftBound(3), 1);  // ceil(4 / 4)
  EXPECT_EQ((*paci)->DriftBound(7), 0);
  auto pipemare = MakeSchedule("pipemare", params);
  ASSERT_TRUE(pipemare.ok());
  EXPECT_EQ((*pipemare)->DriftBound(0), 7);
  EXPECT_EQ((*MakeSchedule("1f1b_flush", params))->DriftBound(0), 0);
}

}  // namespace
}  // namespace pipebench
