#include "engine/schedule/custom_schedule.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/schedule/params.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

absl::StatusOr<Action> ParseToken(absl::string_view token) {
  if (token == "U") return Action::OptimizerStep();
  ActionType type;
  switch (token.empty() ? '\0' : token[0]) {
    case 'F':
      type = ActionType::kForward;
      break;
    case 'B':
      type = ActionType::kBackward;
      break;
    case 'I':
      type = ActionType::kBackwardInput;
      break;
    case 'W':
      type = ActionType::kBackwardWeight;
      break;
    default:
      return absl::InvalidArgumentError("expected F, B, I, W or U");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token.substr(1), '.');
  int microbatch = -1;
  int chunk = 0;
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &microbatch) || microbatch < 0 ||
      (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &chunk) || chunk < 0))) {
    return absl::InvalidArgumentError("expected <letter><microbatch>[.<chunk>]");
  }
  if (microbatch >= std::numeric_limits<std::int32_t>::max() / 2) {
    return absl::InvalidArgumentError(absl::StrCat("micro-batch ", microbatch, " is too large"));
  }
  if (chunk >= Action::kMaxChunks) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk ", chunk, " is over the limit of ", Action::kMaxChunks - 1));
  }
  return Action::Make(type, microbatch, chunk);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schedule>> ParseCustomSchedule(absl::string_view text) {
  std::vector<std::vector<Action>> ranks;
  int max_microbatch = -1;
  int max_chunk = 0;
  bool splits = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    int rank = -1;
    if (!absl::ConsumePrefix(&line, "rank") || colon == absl::string_view::npos ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(0, line.find(':'))), &rank)) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom schedule line ", line_number, ": expected 'rank <r>: <actions>'"));
    }
    if (rank != static_cast<int>(ranks.size())) {
      return absl::InvalidArgumentError(absl::StrCat("custom schedule line ", line_number,
                                                     ": expected rank ", ranks.size(),
                                                     ", got rank ", rank));
    }
    std::vector<Action>& actions = ranks.emplace_back();
    for (absl::string_view token :
         absl::StrSplit(line.substr(line.find(':') + 1), ' ', absl::SkipWhitespace())) {
      absl::StatusOr<Action> action = ParseToken(token);
      if (!action.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("custom schedule line ", line_number,
                                                       ", token '", token,
                                                       "': ", action.status().message()));
      }
      max_microbatch = std::max(max_microbatch, action->microbatch);
      max_chunk = std::max<int>(max_chunk, action->chunk);
      splits |= action->type == ActionType::kBackwardInput;
      actions.push_back(*action);
    }
  }
  if (ranks.empty() || max_microbatch < 0) {
    return absl::InvalidArgumentError("custom schedule has no ranks or no micro-batches");
  }
  ScheduleParams params;
  params.stages = static_cast<int>(ranks.size());
  params.microbatches = max_microbatch + 1;
  params.batches = 1;
  params.chunks = max_chunk + 1;
  PB_RETURN_IF_ERROR(ValidateCommonParams(params));
  auto shared = std::make_shared<std::vector<std::vector<Action>>>(std::move(ranks));
  return MakeScheduleFromSpec(
      params, {.name = "custom",
               .synchronous = false,
               .splits_backward = splits,
               .drift_bound = [](const ScheduleParams&, int) { return -1; },
               .make_program = [shared](const ScheduleParams&, int rank) {
                 return std::make_unique<StaticProgram>((*shared)[rank]);
               }});
}

}  // namespace pipebench
