#include "engine/util/file_io.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/file_io_" + name;
}

TEST(FileIoTest, WritesAndReplaces) {
  const std::string path = TempPath("plain.txt");
  ASSERT_TRUE(WriteTextFile(path, "first, longer").ok());
  ASSERT_TRUE(WriteTextFile(path, "second").ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "second");
}

TEST(FileIoTest, AFullDiskIsAnErrorNamingTheFileAndTheReason) {
  // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
  const absl::Status status = WriteTextFile("/dev/full", "data", "--write_costs");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot write --write_costs '/dev/full': No space left on device"));
}

TEST(FileIoTest, AMissingFolderIsAnError) {
  const absl::Status status = WriteTextFile("/nonexistent/folder/x.json", "data", "--out");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("cannot write --out '/nonexistent/folder/x.json'"));
}

TEST(FileIoTest, CloseWrittenSeesBytesThatNeverArrived) {
  std::ofstream file("/dev/full");
  ASSERT_TRUE(file.is_open());
  file << "buffered, not yet written";
  ASSERT_TRUE(file.good());  // nothing has failed yet: the bytes are in the buffer
  EXPECT_FALSE(CloseWritten(file, "/dev/full", "--out").ok());
}

TEST(FileIoTest, StandardOutputToAFullDiskIsAnError) {
  // In a child, whose standard output can be pointed at /dev/full.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (std::freopen("/dev/full", "w", stdout) == nullptr) _exit(2);
    std::cout << "a run summary\n";
    _exit(FlushStandardOutput().ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_TRUE(FlushStandardOutput().ok());  // this process's own output is fine
}

}  // namespace
}  // namespace pipebench
