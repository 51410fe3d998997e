// The knobs every schedule is built from.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_
#define PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "engine/sim/cost_model.h"

namespace pipebench {

struct ScheduleParams {
  int stages = 4;        // p: pipeline ranks
  int microbatches = 8;  // m: micro-batches per mini-batch
  int batches = 1;       // N: mini-batches in the run
  // a: PACI's local accumulation, backward passes per optimizer step. 0 means "equal to m", the
  // paper's setting; other schedules ignore it.
  int accumulation = 0;
  int chunks = 1;  // v: virtual chunks per rank (interleaved schedules)
  // Schedules that plan from costs (zb_1p, zb_2p): the most micro-batches a rank may hold between
  // a forward and its weight gradient; 0: the schedule's own (p for zb_1p, 2p for zb_2p).
  int max_pending_backward = 0;
  // The costs such schedules plan from (measured, a cost file, or flags); unset: every forward,
  // input gradient and weight gradient costs 1 and messages are free. Other schedules ignore it.
  std::shared_ptr<const CostModel> costs;

  int total_microbatches() const { return microbatches * batches; }
  int model_stages() const { return stages * chunks; }
  int effective_accumulation() const { return accumulation > 0 ? accumulation : microbatches; }
};

// Checks the ranges every schedule needs; the error names the offending parameter.
absl::Status ValidateCommonParams(const ScheduleParams& params);

std::string DescribeParams(const ScheduleParams& params);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_PARAMS_H_
