// V-Half's and V-Min's orders against the authors' builder (zbv_greedy.py in
// sail-sg/zero-bubble-pipeline-parallelism, run unchanged at p = 4, m = 8); their memory and
// bubble are checked in the simulator's tests.
#include <string>

#include "engine/schedule/registry.h"
#include "engine/testing/schedule_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::OrderOf;
using testing::Params;

std::string FirstActions(const std::string& order, int count) {
  std::size_t end = 0;
  for (int i = 0; i < count && end != std::string::npos; ++i) end = order.find(' ', end + 1);
  return order.substr(0, end);
}

// Rank 0's first 18 passes (I is the input-gradient backward; ".1" marks chunk 1, the stage
// 2p-1 the V puts beside stage 0).
TEST(ControllableMemoryVTest, RankZeroRunsTheAuthorsOrder) {
  auto half = MakeSchedule("v_half", Params(4, 8, 1, 0, 2));
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(FirstActions(OrderOf(**half, 0), 18),
            "F0 F1 F2 F3 F4 F0.1 I0.1 W0.1 F1.1 I1.1 W1.1 F2.1 I0 I2.1 W2.1 F3.1 W0 F5");
  auto min = MakeSchedule("v_min", Params(4, 8, 1, 0, 2));
  ASSERT_TRUE(min.ok()) << min.status();
  EXPECT_EQ(FirstActions(OrderOf(**min, 0), 18),
            "F0 F1 F2 F0.1 I0.1 W0.1 F1.1 I1.1 W1.1 I0 W0 F3 F2.1 I2.1 I1 W2.1 W1 F4");
}

// Every rank runs each micro-batch's six passes once per mini-batch, then one update; later
// mini-batches repeat the first with their own micro-batches.
TEST(ControllableMemoryVTest, EachMiniBatchRunsEveryPassOnceThenUpdates) {
  for (const char* name : {"v_half", "v_min"}) {
    for (int p : {1, 2, 3, 5}) {
      for (int m : {1, p, 2 * p + 1}) {
        SCOPED_TRACE(::testing::Message() << name << " p=" << p << " m=" << m);
        auto schedule = MakeSchedule(name, Params(p, m, 2, 0, 2));
        ASSERT_TRUE(schedule.ok()) << schedule.status();
        for (int rank = 0; rank < p; ++rank) {
          const std::vector<Action> actions = testing::ActionsOf(**schedule, rank);
          ASSERT_EQ(actions.size(), 2 * (6 * m + 1));
          for (int batch = 0; batch < 2; ++batch) {
            int count[2][3] = {};
            for (int i = 0; i < 6 * m; ++i) {
              const Action& a = actions[batch * (6 * m + 1) + i];
              ASSERT_GE(a.microbatch, batch * m);
              ASSERT_LT(a.microbatch, (batch + 1) * m);
              const int pass = a.type == ActionType::kForward         ? 0
                               : a.type == ActionType::kBackwardInput ? 1
                                                                      : 2;
              ++count[a.chunk][pass];
            }
            for (const auto& chunk : count) {
              for (int n : chunk) EXPECT_EQ(n, m);
            }
            EXPECT_EQ(actions[batch * (6 * m + 1) + 6 * m].type, ActionType::kOptimizerStep);
          }
        }
      }
    }
  }
}

TEST(ControllableMemoryVTest, TakesTwoChunksOnly) {
  auto schedule = MakeSchedule("v_min", Params(4, 8));
  ASSERT_FALSE(schedule.ok());
  EXPECT_NE(schedule.status().message().find("v_min"), std::string::npos);
}

}  // namespace
}  // namespace pipebench
