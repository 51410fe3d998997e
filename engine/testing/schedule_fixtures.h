// Test-only helpers for code that builds schedules: no LibTorch.
#ifndef PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_
#define PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_

#include "engine/schedule/params.h"

namespace pipebench::testing {

// p stages, m micro-batches per mini-batch, `batches` mini-batches, accumulation a (0: m),
// v chunks per rank.
ScheduleParams Params(int p, int m, int batches = 1, int a = 0, int v = 1);

}  // namespace pipebench::testing

#endif  // PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_
