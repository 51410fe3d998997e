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

// The text after "placement:": "looped", "v" or one rank per model stage.
struct PlacementLine {
  std::string kind = "looped";
  std::vector<int> rank_of_stage;
};

absl::StatusOr<PlacementLine> ParsePlacement(absl::string_view text) {
  PlacementLine placement;
  text = absl::StripAsciiWhitespace(text);
  if (text == "looped" || text == "v") {
    placement.kind = std::string(text);
    return placement;
  }
  placement.kind = "explicit";
  for (absl::string_view token : absl::StrSplit(text, ' ', absl::SkipWhitespace())) {
    int rank = -1;
    if (!absl::SimpleAtoi(token, &rank)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected 'looped', 'v' or the rank of each model stage, got '", token, "'"));
    }
    placement.rank_of_stage.push_back(rank);
  }
  return placement;
}

// The placement the text asks for, checked against the ranks and chunks its actions use.
absl::StatusOr<Placement> MakePlacement(const PlacementLine& line, int ranks, int chunks_used) {
  if (line.kind == "looped") return Placement::Looped(ranks, chunks_used);
  if (line.kind == "v") return Placement::V(ranks, chunks_used);
  PB_ASSIGN_OR_RETURN(Placement placement, Placement::Explicit(ranks, line.rank_of_stage));
  if (placement.chunks() < chunks_used) {
    return absl::InvalidArgumentError(
        absl::StrCat("custom schedule: its placement gives each rank ", placement.chunks(),
                     " stages, but its actions use chunk ", chunks_used - 1));
  }
  return placement;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schedule>> ParseCustomSchedule(absl::string_view text) {
  std::vector<std::vector<Action>> ranks;
  int max_microbatch = -1;
  int max_chunk = 0;
  bool splits = false;
  PlacementLine placement_line;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "placement:")) {
      absl::StatusOr<PlacementLine> parsed = ParsePlacement(line);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("custom schedule line ", line_number, ": ",
                                                       parsed.status().message()));
      }
      placement_line = *std::move(parsed);
      continue;
    }
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
  PB_ASSIGN_OR_RETURN(const Placement placement,
                      MakePlacement(placement_line, params.stages, max_chunk + 1));
  params.chunks = placement.chunks();
  PB_RETURN_IF_ERROR(ValidateCommonParams(params));
  auto shared = std::make_shared<std::vector<std::vector<Action>>>(std::move(ranks));
  return MakeScheduleFromSpec(
      params, {.name = "custom",
               .synchronous = false,
               .splits_backward = splits,
               .placement = [placement](int, int) { return placement; },
               .drift_bound = [](const ScheduleParams&, int) { return -1; },
               .make_program = [shared](const ScheduleParams&, int rank) {
                 return std::make_unique<StaticProgram>((*shared)[rank]);
               }});
}

}  // namespace pipebench
