#include "engine/runtime/rank_driver.h"

#include <memory>
#include <random>
#include <string>
#include <utility>

#include "engine/schedule/custom_schedule.h"
#include "engine/schedule/registry.h"
#include "engine/sim/simulator.h"
#include "engine/testing/schedule_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

std::unique_ptr<Schedule> Custom(const std::string& text) {
  auto schedule = ParseCustomSchedule(text);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  return schedule.ok() ? *std::move(schedule) : nullptr;
}

RankDriver::Step MustPoll(RankDriver& driver) {
  const RankDriver::Step step = driver.Poll();
  EXPECT_NE(step.kind, RankDriver::Step::Kind::kError) << driver.error();
  return step;
}

using Kind = RankDriver::Step::Kind;

// The middle rank of three: it holds each action until the backend reports its input, then hands
// it out once, marked started.
TEST(RankDriverTest, HoldsEachActionUntilItsInputArrives) {
  const auto schedule = Custom(
      "rank 0: F0 B0 U\n"
      "rank 1: F0 B0 U\n"
      "rank 2: F0 B0 U\n");
  RankDriver driver(*schedule, 1);
  RankDriver::Step step = MustPoll(driver);
  EXPECT_EQ(step.kind, Kind::kBlocked);
  EXPECT_EQ(step.action, Action::Forward(0));
  EXPECT_EQ(driver.Stuck(),
            "rank 1 action #0 'F0' (stage 1, micro-batch 0) waits for the activation from stage 0");
  driver.ActivationArrived(0, 0);
  step = MustPoll(driver);
  EXPECT_EQ(step.kind, Kind::kStart);
  EXPECT_EQ(step.action, Action::Forward(0));
  driver.Finished(step.action);
  step = MustPoll(driver);
  EXPECT_EQ(step.kind, Kind::kBlocked);
  EXPECT_EQ(driver.Stuck(),
            "rank 1 action #1 'B0' (stage 1, micro-batch 0) waits for the gradient from stage 2");
  driver.GradientArrived(0, 0);
  EXPECT_EQ(MustPoll(driver).kind, Kind::kStart);
  EXPECT_FALSE(driver.CheckEverythingRan().ok());  // B0 started, not finished
  driver.Finished(Action::Backward(0));
  step = MustPoll(driver);
  EXPECT_EQ(step.kind, Kind::kStart);
  EXPECT_EQ(step.action, Action::OptimizerStep());
  EXPECT_EQ(MustPoll(driver).kind, Kind::kDone);
  EXPECT_TRUE(driver.done());
  EXPECT_EQ(driver.optimizer_steps(), 1);
  EXPECT_EQ(driver.started(), 3);
  EXPECT_TRUE(driver.CheckEverythingRan().ok());
}

// The last stage's backward needs only its own forward to have finished.
TEST(RankDriverTest, TheLastStagesBackwardWaitsForItsOwnForwardOnly) {
  const auto schedule = Custom("rank 0: F0 B0\nrank 1: F0 B0\n");
  RankDriver driver(*schedule, 1);
  driver.ActivationArrived(0, 0);
  EXPECT_EQ(MustPoll(driver).kind, Kind::kStart);
  EXPECT_FALSE(driver.BackwardInputReady(0, 0));
  driver.Finished(Action::Forward(0));
  EXPECT_TRUE(driver.BackwardInputReady(0, 0));
  EXPECT_EQ(MustPoll(driver).kind, Kind::kStart);
}

TEST(RankDriverTest, InvalidActionsAreErrorsNamingRankActionAndStage) {
  auto first_error = [](const std::string& text) -> std::string {
    const auto schedule = Custom(text);
    RankDriver driver(*schedule, 0);
    for (int i = 0; i < 10; ++i) {
      const RankDriver::Step step = driver.Poll();
      if (step.kind == Kind::kError) {
        // The error sticks: the next poll reports it again.
        EXPECT_EQ(driver.Poll().kind, Kind::kError);
        return std::string(driver.error().message());
      }
      if (step.kind != Kind::kStart) return "no error";
      driver.Finished(step.action);
    }
    return "no error";
  };
  EXPECT_EQ(first_error("rank 0: F0 F0 B0\n"),
            "rank 0 action #1 'F0' (stage 0, micro-batch 0): forward runs a second time");
  EXPECT_EQ(first_error("rank 0: B0 F0\n"),
            "rank 0 action #0 'B0' (stage 0, micro-batch 0): backward before its forward");
  EXPECT_EQ(first_error("rank 0: F0 I0 I0\n"),
            "rank 0 action #2 'I0' (stage 0, micro-batch 0): backward runs a second time");
  EXPECT_EQ(first_error("rank 0: F0 W0\n"),
            "rank 0 action #1 'W0' (stage 0, micro-batch 0): weight gradient before its input "
            "gradient");
  EXPECT_EQ(first_error("rank 0: F0 I0 W0 W0\n"),
            "rank 0 action #3 'W0' (stage 0, micro-batch 0): weight gradient runs a second time");
}

// A one-rank schedule whose program always decides `decision`: a program no registered schedule
// would write.
class ConstantSchedule : public Schedule {
 public:
  ConstantSchedule(std::string name, Decision decision)
      : Schedule(ScheduleParams{}), name_(std::move(name)), decision_(decision) {}
  std::string name() const override { return name_; }
  WeightPolicy weight_policy(int) const override { return {}; }
  bool synchronous() const override { return true; }
  int DriftBound(int) const override { return 0; }
  std::unique_ptr<RankProgram> MakeProgram(int) const override {
    class Constant : public RankProgram {
     public:
      explicit Constant(Decision decision) : decision_(decision) {}
      Decision Next(const RankView&) override { return decision_; }
      void Started(const Action&) override {}

     private:
      const Decision decision_;
    };
    return std::make_unique<Constant>(decision_);
  }

 private:
  const std::string name_;
  const Decision decision_;
};

// A chunk that does not fit an action's 16 bits becomes -1, an out-of-range chunk, rather than
// wrapping to a chunk the rank holds.
TEST(RankDriverTest, AChunkTooLargeForAnActionIsRejected) {
  EXPECT_EQ(Action::Forward(0, Action::kMaxChunks).chunk, -1);
  EXPECT_EQ(Action::Forward(0, 65536).chunk, -1);
  EXPECT_EQ(Action::Forward(0, Action::kMaxChunks - 1).chunk, Action::kMaxChunks - 1);
  ConstantSchedule schedule("huge_chunk", Decision::Run(Action::Forward(0, 65536)));
  RankDriver driver(schedule, 0);
  EXPECT_EQ(driver.Poll().kind, Kind::kError);
  EXPECT_NE(driver.error().message().find("chunk -1 is outside [0, 1)"), std::string::npos)
      << driver.error();
}

// A program that never says done is stopped at the action limit, not run forever.
TEST(RankDriverTest, ARunawayProgramIsStoppedAtTheActionLimit) {
  ConstantSchedule schedule("runaway", Decision::Run(Action::OptimizerStep()));
  absl::StatusOr<std::vector<int>> steps = OptimizerStepsPerRank(schedule);
  ASSERT_FALSE(steps.ok());
  EXPECT_NE(steps.status().message().find("runaway: rank 0 issued more than"), std::string::npos)
      << steps.status();
  EXPECT_NE(steps.status().message().find("does not terminate"), std::string::npos);
}

TEST(RankDriverTest, CountsOptimizerStepsOfAHandWrittenSchedule) {
  const auto schedule = Custom("rank 0: F0 F1 B0 U B1 U\nrank 1: F0 B0 F1 B1 U\n");
  absl::StatusOr<std::vector<int>> steps = OptimizerStepsPerRank(*schedule);
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_EQ(*steps, (std::vector<int>{2, 1}));
}

TEST(RankDriverTest, ADeadlockNamesEveryStuckRank) {
  const auto schedule = Custom("rank 0: F0 F1 B1 B0\nrank 1: F0 B0 F1 B1\n"
                               "rank 2: F1 F0 B1 B0\n");
  absl::StatusOr<std::vector<int>> steps = OptimizerStepsPerRank(*schedule);
  ASSERT_FALSE(steps.ok());
  EXPECT_NE(steps.status().message().find("deadlocks: rank 0 action #2 'B1'"), std::string::npos)
      << steps.status();
  EXPECT_NE(steps.status().message().find("rank 2 action #0 'F1' (stage 2, micro-batch 1) waits "
                                          "for the activation from stage 1"),
            std::string::npos)
      << steps.status();
}

// The count without a clock equals the simulator's for every schedule, over seeded random
// configurations (the count does not depend on timing, only on the programs).
TEST(RankDriverTest, OptimizerStepsMatchTheSimulatorForEverySchedule) {
  std::mt19937 gen(20261128);
  for (const std::string& name : RegisteredSchedules()) {
    for (int trial = 0; trial < 10; ++trial) {
      const ScheduleParams params = testing::RandomAcceptedParams(name, 6, gen);
      auto schedule = MakeSchedule(name, params);
      ASSERT_TRUE(schedule.ok()) << name << ": " << schedule.status();
      absl::StatusOr<std::vector<int>> steps = OptimizerStepsPerRank(**schedule);
      ASSERT_TRUE(steps.ok()) << name << ": " << steps.status();
      absl::StatusOr<SimulationResult> simulated = Simulate(**schedule, CostModel());
      ASSERT_TRUE(simulated.ok()) << name << ": " << simulated.status();
      for (int rank = 0; rank < params.stages; ++rank) {
        EXPECT_EQ((*steps)[rank], simulated->stages[rank].optimizer_steps)
            << name << " " << DescribeParams(params) << " rank " << rank;
      }
    }
  }
}

}  // namespace
}  // namespace pipebench
