#include "engine/testing/schedule_fixtures.h"

namespace pipebench::testing {

ScheduleParams Params(int p, int m, int batches, int a, int v) {
  ScheduleParams params;
  params.stages = p;
  params.microbatches = m;
  params.batches = batches;
  params.accumulation = a;
  params.chunks = v;
  return params;
}

}  // namespace pipebench::testing
