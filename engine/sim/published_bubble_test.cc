// The zero-bubble paper's bubble rates (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024,
// arXiv 2401.10241v1): its Table 5 from its profiled times (Table 9, Appendix D; the same numbers
// are Tables 5 and 6 of the ICLR version). Bubble rate, the paper's definition: (cost - m (T_F +
// T_B + T_W)) / cost, where cost is the longest stage's span (first F start to last W end) and
// T_comm is charged on every cross-stage dependency - the simulator's per-rank compute span with
// the message latency set to T_comm.
//
// 1F1B, ZB-H1, ZB-H2 and ZB-1p reproduce every printed value (4 decimals). ZB-2p does not: the
// paper caps ZB-2p at 2p micro-batches' activations in a memory model where B frees most of a
// micro-batch's activations (the attention scores) and W keeps only the weight-gradient inputs,
// so far more than 2p micro-batches may wait for their W; pipebench's memory model holds a
// micro-batch's activations until its W, so its zb_2p waits on at most 2p and keeps part of the
// bubble (0.025-0.10 here against the paper's 0.001-0.043). Given the room (max_pending_backward),
// the same planner closes it.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/schedule/registry.h"
#include "engine/sim/simulator.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

struct PublishedRow {
  const char* model;
  int p, m;
  double forward, backward_input, backward_weight, comm;  // Table 9 (ms)
  double flush, h1, h2, zb1p, zb2p;                       // Table 5
};

constexpr PublishedRow kRows[] = {
    {"1.5B", 8, 24, 18.522, 18.086, 9.337, 0.601, 0.2431, 0.1585, 0.1083, 0.1585, 0.0433},
    {"1.5B", 8, 32, 18.513, 18.086, 9.331, 0.626, 0.1985, 0.1242, 0.0837, 0.1242, 0.0039},
    {"1.5B", 8, 64, 18.546, 18.097, 9.321, 0.762, 0.1240, 0.0674, 0.0444, 0.0674, 0.0026},
    {"6.2B", 8, 24, 29.718, 29.444, 19.927, 0.527, 0.2347, 0.1323, 0.0698, 0.1323, 0.0029},
    {"6.2B", 8, 32, 29.802, 29.428, 19.530, 0.577, 0.1898, 0.1045, 0.0559, 0.1045, 0.0022},
    {"6.2B", 8, 64, 29.935, 29.621, 19.388, 0.535, 0.1091, 0.0554, 0.0294, 0.0554, 0.0010},
    {"14.6B", 16, 48, 11.347, 11.248, 8.132, 0.377, 0.2552, 0.1397, 0.0672, 0.1397, 0.0066},
    {"14.6B", 16, 64, 11.307, 11.254, 8.101, 0.379, 0.2082, 0.1088, 0.0516, 0.1088, 0.0054},
    {"14.6B", 16, 128, 11.325, 11.308, 8.109, 0.378, 0.1251, 0.0576, 0.0266, 0.0576, 0.0028},
    {"28.3B", 32, 96, 10.419, 10.207, 7.715, 0.408, 0.2646, 0.1421, 0.0641, 0.1421, 0.0038},
    {"28.3B", 32, 128, 10.408, 10.204, 7.703, 0.408, 0.2168, 0.1106, 0.0490, 0.1106, 0.0029},
    {"28.3B", 32, 256, 10.402, 10.248, 7.698, 0.460, 0.1352, 0.0594, 0.0257, 0.0594, 0.0018},
};

// The paper's bubble rate of `schedule` on `row`'s costs.
double BubbleRate(const std::string& schedule, const PublishedRow& row,
                  int max_pending_backward = 0) {
  auto costs = std::make_shared<CostModel>();
  costs->stages = {{row.forward, row.backward_input, row.backward_weight, 0.0, 0.0}};
  costs->p2p_latency = row.comm;
  ScheduleParams params;
  params.stages = row.p;
  params.microbatches = row.m;
  params.max_pending_backward = max_pending_backward;
  params.costs = costs;
  auto made = MakeSchedule(schedule, params);
  EXPECT_TRUE(made.ok()) << made.status();
  auto result = Simulate(**made, *costs);
  EXPECT_TRUE(result.ok()) << result.status();
  double cost = 0;
  for (const StageStats& s : result->stages) cost = std::max(cost, s.compute_span);
  const double work = row.m * (row.forward + row.backward_input + row.backward_weight);
  return (cost - work) / cost;
}

TEST(PublishedBubbleTest, ZeroBubblePaperTable5ForOneFOneBAndTheZeroBubbleSchedules) {
  // Printed to 4 decimals: within half a unit of the last digit.
  constexpr double kPrinted = 0.00005;
  for (const PublishedRow& row : kRows) {
    SCOPED_TRACE(::testing::Message() << row.model << " p=" << row.p << " m=" << row.m);
    EXPECT_NEAR(BubbleRate("1f1b_flush", row), row.flush, kPrinted);
    EXPECT_NEAR(BubbleRate("zb_h1", row), row.h1, kPrinted);
    EXPECT_NEAR(BubbleRate("zb_h2", row), row.h2, kPrinted);
    EXPECT_NEAR(BubbleRate("zb_1p", row), row.zb1p, kPrinted);
  }
}

TEST(PublishedBubbleTest, ZeroBubble2pKeepsTheBubbleItsTighterMemoryModelImplies) {
  for (const PublishedRow& row : kRows) {
    SCOPED_TRACE(::testing::Message() << row.model << " p=" << row.p << " m=" << row.m);
    const double ours = BubbleRate("zb_2p", row);
    EXPECT_LE(ours, BubbleRate("zb_h2", row) + 1e-12);  // never worse than the hand-made one
    EXPECT_GT(ours, row.zb2p);                          // the documented difference
    // With room for 4p micro-batches pending to W the planner reaches the paper's regime.
    EXPECT_LT(BubbleRate("zb_2p", row, 4 * row.p), row.zb2p + 0.01);
  }
}

}  // namespace
}  // namespace pipebench
