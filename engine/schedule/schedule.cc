#include "engine/schedule/schedule.h"

namespace pipebench {

const char* WeightSemanticsName(WeightSemantics semantics) {
  switch (semantics) {
    case WeightSemantics::kCurrent:
      return "current";
    case WeightSemantics::kStashed:
      return "stashed";
    case WeightSemantics::kDoubleBuffered:
      return "double_buffered";
  }
  return "unknown";
}

}  // namespace pipebench
