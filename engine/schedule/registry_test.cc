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
      "1f1b_flush", "async_naive", "gpipe",    "interleaved_1f1b", "paci",
      "pipedream",  "pipedream_2bw", "pipemare", "zb_h1",          "zb_h2"};
  for (const std::string& name : expected) {
    EXPECT_NE(std::find(registered.begin(), registered.end(), name), registered.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(registered.begin(), registered.end()));
  for (const std::string& name : registered) {
    auto schedule = MakeSchedule(name, Params(4, 8));
    ASSERT_TRUE(schedule.ok()) << name << ": " << schedule.status();
    EXPECT_EQ((*schedule)->name(), name);
  }
}

TEST(RegistryTest, UnknownNameListsTheKnownOnes) {
  auto schedule = MakeSchedule("pipedream3", Params(4, 8));
  ASSERT_EQ(schedule.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(schedule.status().message().find("'pipedream3'"), std::string::npos);
  EXPECT_NE(schedule.status().message().find("paci"), std::string::npos);
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
