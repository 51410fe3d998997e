// Test-only helpers for code that builds schedules: no LibTorch.
#ifndef PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_
#define PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_

#include <random>
#include <string>
#include <vector>

#include "engine/schedule/action.h"
#include "engine/schedule/params.h"
#include "engine/schedule/schedule.h"

namespace pipebench::testing {

// p stages, m micro-batches per mini-batch, `batches` mini-batches, accumulation a (0: m),
// v chunks per rank.
ScheduleParams Params(int p, int m, int batches = 1, int a = 0, int v = 1);

// The chunk counts in [1, max_chunks] that schedule `name` accepts at p ranks and m micro-batches,
// as its own factory says: shared tests run each schedule in every form it has without naming it.
// Needs the schedules linked (//engine/schedule:all_schedules).
std::vector<int> AcceptedChunks(const std::string& name, int p, int m, int max_chunks = 3);

// `params` in the form `name` takes with the most chunks up to `max_chunks` (its chunked form
// where it has one, else one chunk), raising m to the first count the schedule accepts when it
// accepts none at params.microbatches (a test failure if none up to 4(p + m)).
ScheduleParams Accepted(const std::string& name, ScheduleParams params, int max_chunks = 2);

// Random settings `name` accepts: p in [1, max_p], m in [p, 3p], v among the accepted chunk
// counts, batches in [1, 3], accumulation in [1, 8]; m is drawn again until the schedule takes
// the settings (a test failure if 1000 draws find none).
ScheduleParams RandomAcceptedParams(const std::string& name, int max_p, std::mt19937& gen);

// The actions `rank` of `schedule` runs, in order, for a schedule whose programs do not wait on
// their inputs to decide (a fixed list); each as ToString writes it ("F3", "I0.1", "U"), one
// space between.
std::vector<Action> ActionsOf(const Schedule& schedule, int rank);
std::string OrderOf(const Schedule& schedule, int rank);

}  // namespace pipebench::testing

#endif  // PIPEBENCH_ENGINE_TESTING_SCHEDULE_FIXTURES_H_
