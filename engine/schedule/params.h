// The knobs every schedule is built from.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_
#define PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_

#include <string>

#include "absl/status/status.h"

namespace pipebench {

struct ScheduleParams {
  int stages = 4;        // p: pipeline ranks
  int microbatches = 8;  // m: micro-batches per mini-batch
  int batches = 1;       // N: mini-batches in the run
  // a: PACI's local accumulation, backward passes per optimizer step. 0 means "equal to m", the
  // paper's setting; other schedules ignore it.
  int accumulation = 0;
  int chunks = 1;  // v: virtual chunks per rank (interleaved schedules)

  int total_microbatches() const { return microbatches * batches; }
  int model_stages() const { return stages * chunks; }
  int effective_accumulation() const { return accumulation > 0 ? accumulation : microbatches; }
};

// Checks the ranges every schedule needs; the error names the offending parameter.
absl::Status ValidateCommonParams(const ScheduleParams& params);

std::string DescribeParams(const ScheduleParams& params);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_
