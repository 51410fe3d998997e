#include "benchmarks/manifest.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(ManifestTest, RecordsConfigMachineAndProvenance) {
  const nlohmann::json config = {{"experiment", "smoke"}};
  const nlohmann::json manifest = MakeManifest("/nonexistent", config);
  EXPECT_EQ(manifest["config"], config);
  EXPECT_EQ(manifest["git_commit"], "unknown");  // not a checkout: says so instead of failing
  EXPECT_GT(manifest["cpu_count"].get<long>(), 0);
  for (const char* key : {"git_dirty", "git_diff_sha256", "host", "created_utc", "compiler", "os", "cpu_model"}) {
    EXPECT_TRUE(manifest.contains(key)) << key;
  }
}

}  // namespace
}  // namespace pipebench
