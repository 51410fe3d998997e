#include "engine/util/folder_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

std::string TempFolder(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string folder = absl::StrCat(base ? base : "/tmp", "/folder_lock_", name);
  std::filesystem::remove_all(folder);
  return folder;
}

TEST(FolderLockTest, ASecondHolderIsRefusedNamingTheFirst) {
  const std::string folder = TempFolder("second");
  auto first = FolderLock::Acquire(folder, "run_experiment --config=a.json");
  ASSERT_TRUE(first.ok()) << first.status();
  // flock locks belong to an open file: a second open in this process conflicts as another
  // process's would.
  auto second = FolderLock::Acquire(folder, "run_experiment --config=b.json");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat("pid ", getpid())));
  EXPECT_THAT(second.status().message(), HasSubstr("--config=a.json"));
  EXPECT_THAT(second.status().message(), HasSubstr(folder));
}

TEST(FolderLockTest, ReleasedOnDestructionAndTheFileRemoved) {
  const std::string folder = TempFolder("release");
  {
    auto lock = FolderLock::Acquire(folder, "first");
    ASSERT_TRUE(lock.ok()) << lock.status();
    EXPECT_TRUE(std::filesystem::exists(folder + "/.lock"));
  }
  EXPECT_FALSE(std::filesystem::exists(folder + "/.lock"));
  std::string stale = "unset";
  auto again = FolderLock::Acquire(folder, "second", &stale);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(stale, "");
}

TEST(FolderLockTest, ALockOfADeadProcessIsTakenOverAndNamed) {
  const std::string folder = TempFolder("stale");
  std::filesystem::create_directories(folder);
  // A child takes the lock and dies without cleaning up (_exit skips destructors).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = FolderLock::Acquire(folder, "the dead run");
    _exit(lock.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(std::filesystem::exists(folder + "/.lock"));
  std::string stale;
  auto lock = FolderLock::Acquire(folder, "the next run", &stale);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_THAT(stale, HasSubstr(absl::StrCat("pid ", child)));
  EXPECT_THAT(stale, HasSubstr("the dead run"));
  std::ifstream file(folder + "/.lock");
  std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(contents, HasSubstr("the next run"));
  EXPECT_THAT(contents, ::testing::Not(HasSubstr("the dead run")));
}

TEST(FolderLockTest, AnUnwritableFolderIsAnError) {
  auto lock = FolderLock::Acquire("/proc/no_such_folder", "run");
  ASSERT_FALSE(lock.ok());
  EXPECT_THAT(lock.status().message(), HasSubstr("/proc/no_such_folder"));
}

TEST(FolderLockTest, CommandLineNamesThisTest) {
  EXPECT_THAT(CurrentCommandLine(), HasSubstr("folder_lock_test"));
}

}  // namespace
}  // namespace pipebench
