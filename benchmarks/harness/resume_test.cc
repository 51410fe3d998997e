#include "benchmarks/harness/resume.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

using nlohmann::json;

json Manifest(const std::string& commit, bool complete, json config = {{"experiment", "x"}}) {
  return {{"git_commit", commit}, {"git_dirty", "false"}, {"git_diff_sha256", ""},
          {"config", config}, {"complete", complete}};
}

constexpr char kCommit[] = "343eb34ab12c0123456789abcdef0123456789ab";

TEST(PlanResumeTest, AnInterruptedRunOfTheSameConfigAndCommitResumes) {
  const json now = Manifest(kCommit, false);
  const ResumePlan plan = PlanResume(Manifest(kCommit, false), now, ResumeMode::kAuto, 61, 104);
  EXPECT_TRUE(plan.resume);
  EXPECT_EQ(plan.message, "resuming: 61 of 104 cells done at commit 343eb34ab12c");
}

TEST(PlanResumeTest, AFinishedRunIsRunAgain) {
  const ResumePlan plan =
      PlanResume(Manifest(kCommit, true), Manifest(kCommit, false), ResumeMode::kAuto, 104, 104);
  EXPECT_FALSE(plan.resume);
  EXPECT_NE(plan.message.find("starting fresh"), std::string::npos);
  EXPECT_NE(plan.message.find("it finished"), std::string::npos);
}

TEST(PlanResumeTest, AChangedConfigOrCommitStartsFreshUnlessAskedToResume) {
  const json now = Manifest(kCommit, false);
  const json other_config = Manifest(kCommit, false, {{"experiment", "y"}});
  const json other_commit = Manifest("0000000aaaaa", false);
  for (const json& earlier : {other_config, other_commit}) {
    const ResumePlan automatic = PlanResume(earlier, now, ResumeMode::kAuto, 3, 10);
    EXPECT_FALSE(automatic.resume) << earlier;
    EXPECT_NE(automatic.message.find("--resume would continue it"), std::string::npos);
    const ResumePlan asked = PlanResume(earlier, now, ResumeMode::kResume, 3, 10);
    EXPECT_TRUE(asked.resume) << earlier;
    EXPECT_NE(asked.message.find("resuming (--resume): 3 of 10 cells"), std::string::npos);
  }
  EXPECT_NE(PlanResume(other_config, now, ResumeMode::kAuto, 3, 10).message.find("config differs"),
            std::string::npos);
  EXPECT_NE(PlanResume(other_commit, now, ResumeMode::kAuto, 3, 10).message.find("code changed"),
            std::string::npos);
}

TEST(PlanResumeTest, RunnerOptionsThatChangeResultsMustMatch) {
  json earlier = Manifest(kCommit, false);
  earlier["results_depend_on"] = {{"slow_down", {{"paci", 2.0}}}};
  json now = Manifest(kCommit, false);
  now["results_depend_on"] = {{"slow_down", json::object()}};
  const ResumePlan plan = PlanResume(earlier, now, ResumeMode::kAuto, 1, 2);
  EXPECT_FALSE(plan.resume);
  EXPECT_NE(plan.message.find("other --slow_down factors"), std::string::npos);
}

TEST(PlanResumeTest, UncommittedChangesMustBeTheSameDiff) {
  json earlier = Manifest(kCommit, false);
  earlier["git_dirty"] = "true";
  earlier["git_diff_sha256"] = "aaaa";
  json now = earlier;
  EXPECT_TRUE(PlanResume(earlier, now, ResumeMode::kAuto, 1, 2).resume);
  now["git_diff_sha256"] = "bbbb";
  EXPECT_FALSE(PlanResume(earlier, now, ResumeMode::kAuto, 1, 2).resume);
  now = Manifest(kCommit, false);  // the changes were reverted: clean now, dirty then
  EXPECT_FALSE(PlanResume(earlier, now, ResumeMode::kAuto, 1, 2).resume);
}

TEST(PlanResumeTest, WithoutAKnownCommitNothingResumesOnItsOwn) {
  const json unknown = Manifest("unknown", false);
  EXPECT_FALSE(PlanResume(unknown, unknown, ResumeMode::kAuto, 1, 2).resume);
  EXPECT_FALSE(PlanResume(std::nullopt, unknown, ResumeMode::kAuto, 1, 2).resume);
  EXPECT_TRUE(PlanResume(std::nullopt, unknown, ResumeMode::kResume, 1, 2).resume);
}

TEST(PlanResumeTest, FreshIgnoresEverythingAndAnEmptyFolderSaysNothing) {
  const json now = Manifest(kCommit, false);
  const ResumePlan fresh = PlanResume(now, now, ResumeMode::kFresh, 5, 6);
  EXPECT_FALSE(fresh.resume);
  EXPECT_NE(fresh.message.find("starting fresh (--fresh)"), std::string::npos);
  const ResumePlan empty = PlanResume(std::nullopt, now, ResumeMode::kAuto, 0, 6);
  EXPECT_FALSE(empty.resume);
  EXPECT_TRUE(empty.message.empty());
}

}  // namespace
}  // namespace pipebench
