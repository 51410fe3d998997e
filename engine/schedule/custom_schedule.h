// A schedule written by hand (or exported from another tool), one line per rank:
//
//   # 1F1B with a flush, 2 ranks, 2 micro-batches
//   rank 0: F0 F1 B0 B1 U
//   rank 1: F0 B0 F1 B1 U
//
// Tokens: F<mb>, B<mb>, I<mb> (input gradient), W<mb> (weight gradient), each optionally followed
// by .<chunk>, and U for an optimizer step. Ranks must appear in order 0..p-1. An optional line
// says where the stages live (placement.h): `placement: looped` (the default), `placement: v`, or
// the rank of each model stage in order, `placement: 0 1 1 0`. The backends check
// the rest as they run it (forward before backward, every micro-batch exactly once per stage, no
// deadlock) and name the first offending action.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_CUSTOM_SCHEDULE_H_
#define PIPEBENCH_ENGINE_SCHEDULE_CUSTOM_SCHEDULE_H_

#include <memory>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "engine/schedule/schedule.h"

namespace pipebench {

// Stages, micro-batches and chunks are read off the text (batches = 1). A custom schedule promises
// no drift bound (DriftBound returns -1) and uses the current weights in every pass.
absl::StatusOr<std::unique_ptr<Schedule>> ParseCustomSchedule(absl::string_view text);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_CUSTOM_SCHEDULE_H_
