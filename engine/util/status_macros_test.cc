#include "engine/util/status_macros.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

absl::StatusOr<int> ParsePositive(int x) {
  if (x <= 0) return absl::InvalidArgumentError("x must be positive");
  return x;
}

absl::StatusOr<int> Doubled(int x) {
  PB_ASSIGN_OR_RETURN(int value, ParsePositive(x));
  return 2 * value;
}

absl::Status CheckBoth(int a, int b) {
  PB_RETURN_IF_ERROR(ParsePositive(a).status());
  PB_RETURN_IF_ERROR(ParsePositive(b).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValueThrough) {
  absl::StatusOr<int> result = Doubled(21);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesError) {
  absl::StatusOr<int> result = Doubled(-1);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(), "x must be positive");
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtFirstError) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pipebench
