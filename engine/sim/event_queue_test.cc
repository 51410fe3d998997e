#include "engine/sim/event_queue.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(EventQueueTest, PopsInTimeOrderAndEqualTimesInPushOrder) {
  EventQueue<int> queue;
  EXPECT_TRUE(queue.empty());
  queue.Push(3.0, 0);
  queue.Push(1.0, 1);
  queue.Push(3.0, 2);
  queue.Push(1.0, 3);
  queue.Push(2.5, 4);
  EXPECT_EQ(queue.size(), 5u);
  std::vector<std::pair<double, int>> popped;
  while (!queue.empty()) {
    const double time = queue.next_time();
    popped.push_back({time, queue.Pop()});
  }
  EXPECT_EQ(popped, (std::vector<std::pair<double, int>>{
                        {1.0, 1}, {1.0, 3}, {2.5, 4}, {3.0, 0}, {3.0, 2}}));
}

// Events pushed at the current time while it is being popped leave after the ones already there,
// before any later time: the simulator relies on it for messages between chunks of one rank.
TEST(EventQueueTest, AnEventPushedAtTheCurrentTimeLeavesBeforeLaterTimes) {
  EventQueue<int> queue;
  queue.Push(1.0, 0);
  queue.Push(2.0, 1);
  EXPECT_EQ(queue.Pop(), 0);
  queue.Push(1.0, 2);  // the current time again, after its bucket ran dry
  EXPECT_EQ(queue.next_time(), 1.0);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.next_time(), 2.0);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_TRUE(queue.empty());
}

// The simulator looks at the next time to end a step, then pushes the step's consequences, which
// may come before it: a look must not move the queue on.
TEST(EventQueueTest, APushAfterALookMayPrecedeTheTimeLookedAt) {
  EventQueue<int> queue;
  queue.Push(1.0, 0);
  queue.Push(3.0, 1);
  EXPECT_EQ(queue.Pop(), 0);
  EXPECT_EQ(queue.next_time(), 3.0);
  queue.Push(2.0, 2);
  EXPECT_EQ(queue.next_time(), 2.0);
  queue.Push(1.0, 3);  // the last popped time itself
  EXPECT_EQ(queue.next_time(), 1.0);
  EXPECT_EQ(queue.Pop(), 3);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.Pop(), 1);
}

// The look caches the lowest pending time; a later push below it, in a lower bucket, must win.
TEST(EventQueueTest, APushBelowTheTimeLookedAtInALowerBucketLeavesFirst) {
  EventQueue<int> queue;
  queue.Push(1.0, 0);
  queue.Push(1000.0, 1);
  EXPECT_EQ(queue.Pop(), 0);
  EXPECT_EQ(queue.next_time(), 1000.0);
  queue.Push(1.5, 2);  // differs from 1.0 in a lower bit than 1000.0 does
  EXPECT_EQ(queue.next_time(), 1.5);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.next_time(), 1000.0);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_TRUE(queue.empty());
}

// Denormals, ordinary times, huge ones and infinity order like the numbers they are.
TEST(EventQueueTest, OrdersTimesOfEveryMagnitude) {
  const std::vector<double> times = {std::numeric_limits<double>::infinity(),
                                     1e300,
                                     5e-324,  // the smallest denormal
                                     1e-310,
                                     std::numeric_limits<double>::min(),
                                     1.0,
                                     0.0,
                                     1e-310,
                                     3.5,
                                     1e300};
  EventQueue<int> queue;
  for (int i = 0; i < static_cast<int>(times.size()); ++i) queue.Push(times[i], i);
  std::vector<int> expected(times.size());
  for (int i = 0; i < static_cast<int>(times.size()); ++i) expected[i] = i;
  std::stable_sort(expected.begin(), expected.end(),
                   [&](int a, int b) { return times[a] < times[b]; });
  std::vector<int> popped;
  while (!queue.empty()) {
    const double time = queue.next_time();
    const int id = queue.Pop();
    EXPECT_EQ(time, times[id]);
    popped.push_back(id);
  }
  EXPECT_EQ(popped, expected);
}

// All events at one time (a run of zero-cost actions), pushed while popping: each leaves once, in
// push order.
TEST(EventQueueTest, ALongRunAtOneTimeLeavesInPushOrder) {
  EventQueue<int> queue;
  queue.Push(0.0, 0);
  int next = 1;
  for (int expected = 0; expected < 100000; ++expected) {
    ASSERT_FALSE(queue.empty());
    ASSERT_EQ(queue.next_time(), 0.0);
    ASSERT_EQ(queue.Pop(), expected);
    if (next < 100000) queue.Push(0.0, next++);
  }
  EXPECT_TRUE(queue.empty());
}

TEST(EventQueueTest, ZeroAndNegativeZeroAreOneTime) {
  EventQueue<int> queue;
  queue.Push(0.0, 0);
  queue.Push(-0.0, 1);
  queue.Push(0.0, 2);
  EXPECT_EQ(queue.next_time(), 0.0);
  EXPECT_EQ(queue.Pop(), 0);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
}

// Against a reference: a simulation-like workload (after each pop, a look at the next time, then
// one or two pushes at or after the popped time, often at times shared with others) leaves in the
// order of a stable sort by time.
TEST(EventQueueTest, MatchesAStableSortOnSeededSimulationLikeWorkloads) {
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    std::mt19937 random(seed);
    // Few distinct durations so that times collide, some of them zero; plus arbitrary ones.
    const std::vector<double> durations = {0.0, 0.05, 1.0, 2.0, 1.0 / 3.0};
    std::uniform_int_distribution<int> pick(0, static_cast<int>(durations.size()));
    std::uniform_real_distribution<double> any(0.0, 4.0);
    EventQueue<int> queue;
    std::vector<std::pair<double, int>> pending;  // the reference: (time, id) in push order
    int next_id = 0;
    auto push = [&](double time) {
      queue.Push(time, next_id);
      pending.push_back({time, next_id});
      ++next_id;
    };
    for (int i = 0; i < 8; ++i) push(static_cast<double>(i % 3));
    int pops = 0;
    while (!queue.empty()) {
      std::stable_sort(pending.begin(), pending.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      const std::pair<double, int> expected = pending.front();
      ASSERT_EQ(queue.next_time(), expected.first) << "seed " << seed << " pop " << pops;
      ASSERT_EQ(queue.Pop(), expected.second) << "seed " << seed << " pop " << pops;
      pending.erase(pending.begin());
      ++pops;
      const double now = expected.first;
      if (!queue.empty()) (void)queue.next_time();
      if (next_id < 3000) {
        const int children = 1 + static_cast<int>(random() % 2);
        for (int c = 0; c < children; ++c) {
          const int k = pick(random);
          push(now + (k < static_cast<int>(durations.size()) ? durations[k] : any(random)));
        }
      }
      ASSERT_EQ(queue.size(), pending.size());
    }
    EXPECT_GT(pops, 1000) << "seed " << seed;
  }
}

}  // namespace
}  // namespace pipebench
