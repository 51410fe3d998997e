// V-Half and V-Min (Qi, Wan, Huang, Lin, "Pipeline Parallelism with Controllable Memory",
// NeurIPS 2024; the authors' builder is scheduler/zbv_greedy.py in
// sail-sg/zero-bubble-pipeline-parallelism). Like ZB-V, the 2p model stages sit in a V (rank r
// holds stage r as chunk 0 and stage 2p-1-r as chunk 1) and backward is split into the input
// gradient B and the weight gradient W; unlike ZB-V they trade bubble for activation memory.
//
// The order is planned on unit slots (every pass takes one), as the authors plan it:
//  1. A repeating pattern: micro-batch j's F of chunk 0, F of chunk 1, B of chunk 1 and B of chunk
//     0 on rank i sit at slot 6j plus, with d avoiding collisions modulo 6,
//       V-Min:  i,   2p-1-i,  2p+d+i,     4p+d-1-i   (d = 2 when 3 divides p, else 0)
//       V-Half: 2i,  3p-2-i,  3p-1+d+2i,  6p-2+d-i   (d = 3 when p is even, else 0)
//  2. Ws fill a rank's empty slots, the oldest pending first.
//  3. Squeeze: the warm-up and cool-down passes (before stage 0's first chunk-0 B, after the last
//     chunk-0 F) move to the earliest free slot their inputs allow, as long as the rank's peak
//     activation memory (F +1, W -1, in chunk units) stays at the pattern's; then the slots are
//     compacted to the earliest times that keep each rank's order. Once with the Ws in place,
//     once more for the cool-down with the Ws left out and placed again afterwards.
//  4. The Ws are placed once more per chunk (chunk 1's first); each rank runs its passes in slot
//     order.
// The order depends on p and m only, not on costs. Published (the authors' README; 1F1B's bubble
// (p-1)/(m+p-1) at T_F = T_B = T_W): V-Half has half 1F1B's activation memory, (p+2)//2
// micro-batches of a whole stage, and about half its bubble; V-Min a third, (p+4)//3, and about
// two thirds of the bubble. simulator_test checks the memory and the bubble rates the authors'
// builder gives at unit costs. Updates stay synchronous, one per mini-batch.
#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <queue>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

// Pass kinds, in the authors' numbering (it breaks ties between equal slots).
enum Kind { kF0 = 0, kF1, kB1, kB0, kW1, kW0 };
constexpr int kComputeKinds = 4;  // F0, F1, B1, B0; the W lists follow

// One rank's slots: [kind][k] = the slot of the k-th pass of that kind. With one W list (index 4)
// its k-th entry is the rank's k-th W, whichever chunk; with two, kW1 and kW0 per chunk.
using RankSlots = std::vector<std::vector<int>>;
using Slots = std::vector<RankSlots>;  // [rank]

int LastSlot(const RankSlots& rank) {
  int last = 0;
  for (const std::vector<int>& kind : rank) last = std::max(last, kind.back());
  return last;
}

// Visits every pass of `slots` in the authors' order: by slot, then rank, kind and index. A visit
// may move the pass it is given (never a later one): the next pass of each list is read when due.
template <typename Visit>
void ForEachPassInSlotOrder(Slots& slots, Visit visit) {
  using Entry = std::tuple<int, int, int, int>;  // slot, rank, kind, index
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> due;
  for (int r = 0; r < static_cast<int>(slots.size()); ++r) {
    for (int kind = 0; kind < static_cast<int>(slots[r].size()); ++kind) {
      due.emplace(slots[r][kind][0], r, kind, 0);
    }
  }
  while (!due.empty()) {
    const auto [slot, r, kind, index] = due.top();
    due.pop();
    visit(r, kind, index, slot);
    if (index + 1 < static_cast<int>(slots[r][kind].size())) {
      due.emplace(slots[r][kind][index + 1], r, kind, index + 1);
    }
  }
}

// Step 2: appends W lists (one, or one per chunk) whose passes take the rank's empty slots, the
// oldest pending W first (with one per chunk, chunk 1's first), the rest after the last pass.
void PlaceWeightPasses(RankSlots& rank, bool per_chunk) {
  rank.resize(kComputeKinds);
  const int last = LastSlot(rank);
  rank.resize(per_chunk ? 6 : 5);
  std::array<int, 2> pending = {0, 0};
  std::array<std::size_t, kComputeKinds> next = {0, 0, 0, 0};
  int slot = 0;
  for (; slot <= last; ++slot) {
    int kind = -1;
    for (int k = 0; k < kComputeKinds; ++k) {
      if (next[k] < rank[k].size() && rank[k][next[k]] == slot) kind = k;
    }
    if (kind >= 0) {
      ++next[kind];
      if (kind == kB1 || kind == kB0) ++pending[per_chunk ? kind - kB1 : 0];
      continue;
    }
    for (int w = 0; w < 2; ++w) {
      if (pending[w] == 0) continue;
      rank[kW1 + w].push_back(slot);
      --pending[w];
      break;
    }
  }
  for (int w = 0; w < 2; ++w) {
    for (; pending[w] > 0; --pending[w]) rank[kW1 + w].push_back(slot++);
  }
}

// Peak activation memory of a rank, in chunk units: F +1, W -1. Without W lists the Ws are
// placed as PlaceWeightPasses would.
int PeakMemory(const RankSlots& rank) {
  const bool has_weights = rank.size() > kComputeKinds;
  const int last = LastSlot(rank);
  std::vector<int> delta(last + 1, 0);
  std::vector<bool> busy(last + 1, false);
  std::vector<bool> input_gradient(last + 1, false);
  for (int kind = 0; kind < static_cast<int>(rank.size()); ++kind) {
    for (int slot : rank[kind]) {
      busy[slot] = true;
      delta[slot] += kind <= kF1 ? 1 : kind >= kW1 ? -1 : 0;
      if (kind == kB1 || kind == kB0) input_gradient[slot] = true;
    }
  }
  int held = 0, peak = 0, pending = 0;
  for (int slot = 0; slot <= last; ++slot) {
    held += delta[slot];
    if (input_gradient[slot]) ++pending;
    if (!busy[slot] && !has_weights && pending > 0) --held, --pending;
    peak = std::max(peak, held);
  }
  return peak;
}

// The latest of `times` over what pass (r, kind, k) waits for: the same pass of the micro-batch on
// the neighbouring rank it comes from (F0 and B1 flow down the ranks, F1 and B0 up), the micro-
// batch's previous compute pass on this rank (F0 -> F1 -> B1 -> B0), and its own previous pass;
// -1 when it waits for nothing.
int LatestInput(const Slots& times, int r, int kind, int k) {
  const int p = static_cast<int>(times.size());
  int latest = -1;
  if ((kind == kF0 || kind == kB1) && r > 0) latest = std::max(latest, times[r - 1][kind][k]);
  if ((kind == kF1 || kind == kB0) && r + 1 < p) latest = std::max(latest, times[r + 1][kind][k]);
  if (kind > kF0 && kind < kComputeKinds) latest = std::max(latest, times[r][kind - 1][k]);
  if (k > 0) latest = std::max(latest, times[r][kind][k - 1]);
  return latest;
}

// Start times of every pass at unit cost with free messages, each rank keeping its slot order:
// the slots compacted.
Slots Compact(Slots slots) {
  Slots end = slots;
  std::vector<int> rank_free(slots.size(), 0);
  ForEachPassInSlotOrder(slots, [&](int r, int kind, int k, int) {
    const int ready = std::max(rank_free[r], LatestInput(end, r, kind, k));
    end[r][kind][k] = rank_free[r] = ready + 1;
  });
  for (RankSlots& rank : end) {
    for (std::vector<int>& kind : rank) {
      for (int& slot : kind) --slot;  // start = end - 1
    }
  }
  return end;
}

// The earliest slot pass (r, kind, k) may take: after its inputs and its own previous pass.
int EarliestSlot(const Slots& slots, int r, int kind, int k) {
  int after = LatestInput(slots, r, kind, k);
  if (kind == kW1) {  // the k-th W follows the rank's k-th B, of either chunk
    std::vector<int> inputs = slots[r][kB1];
    inputs.insert(inputs.end(), slots[r][kB0].begin(), slots[r][kB0].end());
    std::nth_element(inputs.begin(), inputs.begin() + k, inputs.end());
    after = std::max(after, inputs[k]);
  }
  return after + 1;
}

// Step 3: moves warm-up (only `with_weights`) and cool-down passes to earlier free slots within
// the peak memory the slots start with, then compacts.
Slots Squeeze(Slots slots, bool with_weights, int microbatches) {
  if (with_weights) {
    for (RankSlots& rank : slots) PlaceWeightPasses(rank, /*per_chunk=*/false);
  }
  int limit = 0;
  for (const RankSlots& rank : slots) limit = std::max(limit, PeakMemory(rank));
  std::vector<std::vector<bool>> taken;
  for (const RankSlots& rank : slots) taken.emplace_back(LastSlot(rank) + 1, false);
  enum { kWarmUp, kSteady, kCoolDown } phase = kWarmUp;
  ForEachPassInSlotOrder(slots, [&](int r, int kind, int k, int slot) {
    if (phase == kWarmUp && kind == kB0 && r == 0) phase = kSteady;
    const bool stays = phase == kSteady || (phase == kWarmUp && !with_weights);
    if (phase == kSteady && kind == kF0 && k == microbatches - 1) phase = kCoolDown;
    int& chosen = slots[r][kind][k];
    if (!stays) {
      chosen = slot;
      for (int earlier = EarliestSlot(slots, r, kind, k); earlier < slot; ++earlier) {
        if (taken[r][earlier]) continue;
        chosen = earlier;
        if (PeakMemory(slots[r]) <= limit) break;
        chosen = slot;
      }
    }
    taken[r][chosen] = true;
  });
  if (!with_weights) {
    for (RankSlots& rank : slots) PlaceWeightPasses(rank, /*per_chunk=*/false);
  }
  return Compact(std::move(slots));
}

enum class Variant { kHalf, kMin };

// Step 1: micro-batch 0's slots of F0, F1, B1, B0 on rank i.
std::array<int, kComputeKinds> Pattern(Variant variant, int p, int i) {
  if (variant == Variant::kMin) {
    const int d = p % 3 == 0 ? 2 : 0;
    return {i, 2 * p - 1 - i, 2 * p + d + i, 4 * p + d - 1 - i};
  }
  const int d = p % 2 == 0 ? 3 : 0;
  return {2 * i, 3 * p - 2 - i, 3 * p - 1 + d + 2 * i, 6 * p - 2 + d - i};
}

// Each rank's passes of one mini-batch, in order (micro-batches 0..m-1).
std::vector<std::vector<Action>> PlanOrders(Variant variant, int p, int m) {
  Slots slots(p, RankSlots(kComputeKinds));
  for (int r = 0; r < p; ++r) {
    const std::array<int, kComputeKinds> first = Pattern(variant, p, r);
    for (int kind = 0; kind < kComputeKinds; ++kind) {
      for (int j = 0; j < m; ++j) slots[r][kind].push_back(first[kind] + 6 * j);
    }
  }
  slots = Squeeze(std::move(slots), /*with_weights=*/true, m);
  for (RankSlots& rank : slots) rank.resize(kComputeKinds);
  slots = Squeeze(std::move(slots), /*with_weights=*/false, m);
  std::vector<std::vector<Action>> orders(p);
  for (int r = 0; r < p; ++r) {
    RankSlots& rank = slots[r];
    rank.resize(kComputeKinds);
    PlaceWeightPasses(rank, /*per_chunk=*/true);
    std::vector<std::pair<int, Action>> by_slot;
    static constexpr ActionType kType[] = {
        ActionType::kForward,       ActionType::kForward,        ActionType::kBackwardInput,
        ActionType::kBackwardInput, ActionType::kBackwardWeight, ActionType::kBackwardWeight};
    static constexpr int kChunk[] = {0, 1, 1, 0, 1, 0};
    for (int kind = 0; kind < 6; ++kind) {
      for (int j = 0; j < m; ++j) {
        by_slot.emplace_back(rank[kind][j], Action::Make(kType[kind], j, kChunk[kind]));
      }
    }
    std::sort(by_slot.begin(), by_slot.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [slot, action] : by_slot) orders[r].push_back(action);
  }
  return orders;
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeControllableMemoryV(const ScheduleParams& params,
                                                                  const char* name,
                                                                  Variant variant) {
  PB_RETURN_IF_ERROR(RequireChunks(name, params, 2, "each rank holds two stages in a V"));
  auto orders = std::make_shared<const std::vector<std::vector<Action>>>(
      PlanOrders(variant, params.stages, params.microbatches));
  return MakeScheduleFromSpec(params, {.name = name,
                                       .synchronous = true,
                                       .splits_backward = true,
                                       .placement = Placement::V,
                                       .make_program = [orders](const ScheduleParams& p, int rank) {
                                         std::vector<Action> actions;
                                         actions.reserve(p.batches * ((*orders)[rank].size() + 1));
                                         for (int batch = 0; batch < p.batches; ++batch) {
                                           for (Action a : (*orders)[rank]) {
                                             a.microbatch += batch * p.microbatches;
                                             actions.push_back(a);
                                           }
                                           actions.push_back(Action::OptimizerStep());
                                         }
                                         return std::make_unique<StaticProgram>(std::move(actions));
                                       }});
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeVHalf(const ScheduleParams& params) {
  return MakeControllableMemoryV(params, "v_half", Variant::kHalf);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeVMin(const ScheduleParams& params) {
  return MakeControllableMemoryV(params, "v_min", Variant::kMin);
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("v_half", MakeVHalf);
PIPEBENCH_REGISTER_SCHEDULE("v_min", MakeVMin);

}  // namespace pipebench
