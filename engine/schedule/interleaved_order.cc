#include "engine/schedule/interleaved_order.h"

#include "absl/strings/str_cat.h"

namespace pipebench {

absl::Status RequireMicrobatchGroups(const std::string& schedule, const ScheduleParams& params) {
  if (params.microbatches % params.stages == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(schedule, ": microbatches (", params.microbatches,
                                                 ") must be a multiple of stages (", params.stages,
                                                 ")"));
}

}  // namespace pipebench
