#include "engine/util/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

// True while `pid` names a live process (a zombie waiting for its reaper counts as gone).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && line.substr(paren + 2, 1) != "Z";
}

TEST(SubprocessTest, CapturesOutputAndExitStatus) {
  auto done = RunToCompletion({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->ok());
  EXPECT_FALSE(done->timed_out);
  EXPECT_EQ(DescribeWaitStatus(done->wait_status), "exited with status 3");
  EXPECT_EQ(done->stdout_text, "out\n");
  EXPECT_EQ(done->stderr_text, "err\n");
}

TEST(SubprocessTest, PassesTheEnvironment) {
  auto done = RunToCompletion({"/bin/sh", "-c", "echo $PIPEBENCH_SUBPROCESS_TEST"},
                              {.environment = {{"PIPEBENCH_SUBPROCESS_TEST", "set"}}});
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(done->stdout_text, "set\n");
}

TEST(SubprocessTest, TimeoutKillsTheWholeProcessGroup) {
  const std::string pid_file = ::testing::TempDir() + "/grandchild.pid";
  const auto start = std::chrono::steady_clock::now();
  auto done = RunToCompletion(
      {"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, {}, absl::Milliseconds(500));
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->timed_out);
  EXPECT_FALSE(done->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  for (int i = 0; i < 100 && Alive(grandchild); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Alive(grandchild)) << "the shell's own child outlived the timeout";
}

TEST(SubprocessTest, OutputAndErrorCanShareOneFile) {
  const std::string log = ::testing::TempDir() + "/both.log";
  auto child = Subprocess::Start({"/bin/sh", "-c", "echo one; echo two >&2; echo three"},
                                 {.stdout_path = log, .stderr_path = log});
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(DescribeWaitStatus(child->Wait()), "exited with status 0");
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "one\ntwo\nthree\n");
}

TEST(SubprocessTest, AProgramThatCannotRunExitsWith127AndIsNamed) {
  auto done = RunToCompletion({"/nonexistent/program"});
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(DescribeWaitStatus(done->wait_status), "exited with status 127");
  EXPECT_THAT(done->stderr_text, HasSubstr("/nonexistent/program"));
}

TEST(SubprocessTest, AnUnwritableOutputFileIsAnError) {
  auto child = Subprocess::Start({"/bin/true"}, {.stdout_path = "/nonexistent/dir/out"});
  ASSERT_FALSE(child.ok());
  EXPECT_THAT(child.status().message(), HasSubstr("/nonexistent/dir/out"));
}

TEST(SubprocessTest, DestroyingARunningChildKillsIt) {
  pid_t pid = 0;
  {
    auto child = Subprocess::Start({"/bin/sleep", "30"});
    ASSERT_TRUE(child.ok());
    pid = child->pid();
    EXPECT_FALSE(child->Poll().has_value());
  }
  EXPECT_FALSE(Alive(pid));
}

TEST(SubprocessTest, SignalReachesTheChild) {
  auto child = Subprocess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(child.ok());
  child->Signal(SIGTERM);
  EXPECT_EQ(DescribeWaitStatus(child->Wait()), "was killed by signal 15");
}

// Woken by the exit, not the timeout: had it waited out its 60 s, the 30 s sleeper would be gone.
TEST(SubprocessTest, WaitForAnyExitReturnsWhenOneChildExits) {
  auto quick = Subprocess::Start({"/bin/sleep", "0.1"});
  auto slow = Subprocess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(quick.ok() && slow.ok());
  while (!quick->Poll()) WaitForAnyExit({&*slow, &*quick}, absl::Seconds(60));
  EXPECT_TRUE(ExitedCleanly(*quick->Poll()));
  EXPECT_FALSE(slow->Poll().has_value());
}

TEST(SubprocessTest, WaitForAnyExitReturnsAtItsTimeout) {
  auto slow = Subprocess::Start({"/bin/sleep", "30"});
  ASSERT_TRUE(slow.ok());
  const absl::Time start = absl::Now();
  WaitForAnyExit({&*slow}, absl::Milliseconds(100));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_FALSE(slow->Poll().has_value());
  WaitForAnyExit({}, absl::InfiniteDuration());  // nothing to wait for: returns at once
}

}  // namespace
}  // namespace pipebench
