#include "engine/util/workspace.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

namespace fs = std::filesystem;

class ResolvePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(std::getenv("TEST_TMPDIR")) / "resolve";
    fs::remove_all(root_);
    fs::create_directories(root_ / "workspace" / "configs");
    fs::create_directories(root_ / "workspace" / "sub" / "mine");
    std::ofstream(root_ / "workspace" / "configs" / "paper.json") << "{}";
    std::ofstream(root_ / "workspace" / "sub" / "costs.json") << "{}";
    setenv("BUILD_WORKSPACE_DIRECTORY", (root_ / "workspace").c_str(), 1);
    setenv("BUILD_WORKING_DIRECTORY", (root_ / "workspace" / "sub").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("BUILD_WORKSPACE_DIRECTORY");
    unsetenv("BUILD_WORKING_DIRECTORY");
  }
  std::string At(const std::string& relative) const { return (root_ / relative).string(); }
  fs::path root_;
};

TEST_F(ResolvePathTest, AFileToReadWhereBazelRunWasCalledWins) {
  EXPECT_EQ(ResolvePath("costs.json"), At("workspace/sub/costs.json"));
}

// A file that is not where the user is comes from the source tree, even though the folder the
// user is in exists (only a file to write may be created there).
TEST_F(ResolvePathTest, AFileToReadThatIsNotThereComesFromTheSourceTree) {
  std::ofstream(root_ / "workspace" / "root.json") << "{}";
  EXPECT_EQ(ResolvePath("root.json"), At("workspace/root.json"));
  EXPECT_EQ(ResolvePath("configs/paper.json"), At("workspace/configs/paper.json"));
}

TEST_F(ResolvePathTest, AFileToWriteGoesWhereBazelRunWasCalledWhenItsFolderIsThere) {
  EXPECT_EQ(ResolveOutputPath("trace.json"), At("workspace/sub/trace.json"));
  EXPECT_EQ(ResolveOutputPath("mine/out.json"), At("workspace/sub/mine/out.json"));
  EXPECT_EQ(ResolveOutputPath("runs/paper"), At("workspace/runs/paper"));
}

TEST_F(ResolvePathTest, TheRepositorysOwnPathsAlwaysComeFromTheSourceTree) {
  std::ofstream(root_ / "workspace" / "sub" / "paper.json") << "{}";
  EXPECT_EQ(RepositoryPath("paper.json"), At("workspace/paper.json"));
  EXPECT_EQ(RepositoryPath("runs/paper"), At("workspace/runs/paper"));
}

TEST_F(ResolvePathTest, AbsoluteAndEmptyPathsPassThrough) {
  EXPECT_EQ(ResolvePath("/etc/hosts"), "/etc/hosts");
  EXPECT_EQ(ResolveOutputPath("/tmp/x"), "/tmp/x");
  EXPECT_EQ(RepositoryPath(""), "");
}

TEST(ResolvePathOutsideBazelRunTest, RelativePathsStayRelativeToTheCurrentDirectory) {
  unsetenv("BUILD_WORKSPACE_DIRECTORY");
  unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(ResolvePath("configs/paper.json"), "./configs/paper.json");
}

}  // namespace
}  // namespace pipebench
