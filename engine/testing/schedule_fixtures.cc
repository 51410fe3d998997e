#include "engine/testing/schedule_fixtures.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/strings/str_join.h"
#include "engine/schedule/rank_program.h"
#include "engine/schedule/registry.h"
#include "gtest/gtest.h"

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

std::vector<int> AcceptedChunks(const std::string& name, int p, int m, int max_chunks) {
  std::vector<int> accepted;
  for (int v = 1; v <= max_chunks; ++v) {
    if (MakeSchedule(name, Params(p, m, 1, 0, v)).ok()) accepted.push_back(v);
  }
  return accepted;
}

ScheduleParams Accepted(const std::string& name, ScheduleParams params, int max_chunks) {
  const int p = params.stages;
  const int limit = 4 * (p + params.microbatches);
  for (int m = params.microbatches; m <= limit; ++m) {
    const std::vector<int> chunks = AcceptedChunks(name, p, m, max_chunks);
    if (chunks.empty()) continue;
    params.microbatches = m;
    params.chunks = chunks.back();
    return params;
  }
  ADD_FAILURE() << name << " accepts no settings at p = " << p << " with m <= " << limit;
  return params;
}

ScheduleParams RandomAcceptedParams(const std::string& name, int max_p, std::mt19937& gen) {
  const int p = absl::Uniform(gen, 1, max_p + 1);
  const int batches = absl::Uniform(gen, 1, 4);
  const int a = absl::Uniform(gen, 1, 9);
  for (int draw = 0; draw < 1000; ++draw) {
    const int m = absl::Uniform(gen, p, 3 * p + 1);
    const std::vector<int> chunks = AcceptedChunks(name, p, m);
    if (chunks.empty()) continue;
    const int v = chunks[absl::Uniform<size_t>(gen, 0, chunks.size())];
    const ScheduleParams params = Params(p, m, batches, a, v);
    if (MakeSchedule(name, params).ok()) return params;
  }
  ADD_FAILURE() << name << " accepts no m in [" << p << ", " << 3 * p << "] at p = " << p;
  return Params(p, p, batches, a);
}

namespace {

// Inputs never ready: a fixed list runs regardless, a policy that waits stops early.
class NothingReady : public RankView {
 public:
  bool ForwardInputReady(int, int) const override { return false; }
  bool BackwardInputReady(int, int) const override { return false; }
};

}  // namespace

std::vector<Action> ActionsOf(const Schedule& schedule, int rank) {
  auto program = schedule.MakeProgram(rank);
  NothingReady view;
  std::vector<Action> actions;
  for (Decision d = program->Next(view); d.kind == Decision::Kind::kRun; d = program->Next(view)) {
    actions.push_back(d.action);
    program->Started(d.action);
  }
  return actions;
}

std::string OrderOf(const Schedule& schedule, int rank) {
  return absl::StrJoin(ActionsOf(schedule, rank), " ",
                       [](std::string* out, const Action& a) { out->append(ToString(a)); });
}

}  // namespace pipebench::testing
