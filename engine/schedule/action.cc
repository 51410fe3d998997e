#include "engine/schedule/action.h"

#include "absl/strings/str_cat.h"

namespace pipebench {

char ActionLetter(ActionType type) {
  switch (type) {
    case ActionType::kForward:
      return 'F';
    case ActionType::kBackward:
      return 'B';
    case ActionType::kBackwardInput:
      return 'I';
    case ActionType::kBackwardWeight:
      return 'W';
    case ActionType::kOptimizerStep:
      return 'U';
    case ActionType::kSendActivation:
      return 'S';
    case ActionType::kSendGradient:
      return 'G';
  }
  return '?';
}

std::string ToString(const Action& action) {
  if (action.type == ActionType::kOptimizerStep) return "U";
  std::string text = absl::StrCat(std::string(1, ActionLetter(action.type)), action.microbatch);
  if (action.chunk != 0) absl::StrAppend(&text, ".", action.chunk);
  return text;
}

}  // namespace pipebench
