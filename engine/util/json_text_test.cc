#include "engine/util/json_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

TEST(JsonTextTest, ParsesAndAllowsCommentsWhenAsked) {
  EXPECT_EQ((*ParseJsonText(R"({"a": [1, 2]})"))["a"][1], 2);
  EXPECT_FALSE(ParseJsonText("// note\n{}").ok());
  EXPECT_TRUE(ParseJsonText("// note\n{}", {.allow_comments = true}).ok());
}

TEST(JsonTextTest, SyntaxErrorsSayLineAndColumn) {
  const absl::Status status = ParseJsonText("{\n  \"a\": 1,\n  \"b\": ]\n}").status();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("line 3, column 8"));
  EXPECT_THAT(status.message(), HasSubstr("unexpected ']'"));
}

TEST(JsonTextTest, DeepNestingIsAnErrorNotACrash) {
  // The fuzzer's and the adversarial user's 70,000 brackets.
  const std::string deep = "{\"seeds\": " + std::string(70000, '[') + std::string(70000, ']') + "}";
  const absl::Status status = ParseJsonText(deep).status();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("nested deeper than 64 levels"));
  // The object is level 1, so the 64th bracket (column 10 + 64) is level 65.
  EXPECT_THAT(status.message(), HasSubstr("line 1, column 74"));
  // 64 levels are fine.
  EXPECT_TRUE(ParseJsonText(std::string(64, '[') + std::string(64, ']')).ok());
  EXPECT_FALSE(ParseJsonText(std::string(65, '[') + std::string(65, ']')).ok());
}

TEST(JsonTextTest, ANumberTooLargeIsAnError) {
  EXPECT_FALSE(ParseJsonText("[1e999]").ok());
}

TEST(JsonTextTest, ReadTextFileNamesFoldersAndMissingFiles) {
  EXPECT_THAT(ReadTextFile("/tmp").status().message(), HasSubstr("'/tmp' is a folder"));
  EXPECT_THAT(ReadTextFile("/nonexistent/x.json").status().message(),
              HasSubstr("cannot read '/nonexistent/x.json'"));
}

}  // namespace
}  // namespace pipebench
