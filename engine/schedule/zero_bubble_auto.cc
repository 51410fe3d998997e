// ZB-1p and ZB-2p: the zero-bubble paper's automatic schedules (Qi et al., "Zero Bubble Pipeline
// Parallelism", ICLR 2024, Section 3 and the heuristic of its Appendix; the authors' scheduler is
// sail-sg/zero-bubble-pipeline-parallelism, scheduler/zb.py). Backward is split into the input
// gradient B (the upstream stage waits for it) and the weight gradient W (nobody waits), and a
// cost-aware greedy places every (stage, micro-batch) F, B and W of one mini-batch:
//  - warm-up: each stage runs as many forwards as fit before the first B can come back to it
//    (the estimate counts the message time on every cross-stage dependency), fewer downstream;
//  - steady state: each stage runs one forward, then its B as soon as the gradient arrives, and
//    fills any wait for an input with pending Ws - always when a W fits in the wait, and when only
//    part of one does, if the stage's bubble so far stays below the worst stage's;
//  - memory: a stage holds at most `max_pending_backward` micro-batches between a forward and its
//    W (activations stay until W in pipebench's memory model), running Ws first to make room;
//  - the eight variants of the heuristic (a bubble allowed before the first B or not, B preferred
//    over F when the next stage lags, a W into a partial hole or not) are all planned, and the
//    shortest kept.
// ZB-1p caps pending micro-batches at p (1F1B's peak activation memory), ZB-2p at 2p; the cap is
// also a parameter (max_pending_backward). The plan comes from the cost model the run uses
// (ScheduleParams::costs: measured, a cost file or flags), so ranks must be given the same costs.
// Where the authors' runtime differs: its B frees part of the activations (attention scores)
// before W, so its 1p cap admits more pending Ws than ours; and it plans with the median stage's
// costs, where this plans with each stage's own. Updates stay synchronous, one per mini-batch
// after the rank's last W (ZB's post-validation removes the global barrier), as in zero_bubble.cc.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/schedule/registry.h"
#include "engine/schedule/schedule_spec.h"
#include "engine/schedule/static_program.h"
#include "engine/util/status_macros.h"

namespace pipebench {
namespace {

enum Pass { kF = 0, kB = 1, kW = 2 };

struct PlanCosts {
  std::vector<double> pass[3];     // per model stage: F, B (input gradient), W
  // Message time across the boundary after stage j, either way: j's activation to j + 1 and
  // its gradient back are the same size.
  std::vector<double> boundary;
};

PlanCosts CostsFor(const ScheduleParams& params) {
  const int p = params.stages;
  PlanCosts c;
  for (int j = 0; j < p; ++j) {
    StageCost cost;  // unit costs and free messages when the run gives none
    if (params.costs) cost = params.costs->cost(j);
    c.pass[kF].push_back(cost.forward);
    c.pass[kB].push_back(cost.backward_input);
    c.pass[kW].push_back(cost.backward_weight);
    const double message =
        params.costs ? params.costs->p2p_latency +
                           params.costs->SerializationTime(cost.activation_bytes)
                     : 0.0;
    c.boundary.push_back(message);
  }
  return c;
}

struct Variant {
  bool bubble_before_first_b = false;
  bool prefer_b = false;
  bool fill_partial_holes = false;
};

// One greedy plan of a mini-batch: each stage's passes in order, and when the last W ends.
class Planner {
 public:
  Planner(int stages, int microbatches, int cap, PlanCosts costs, Variant variant)
      : p_(stages), m_(microbatches), cap_(cap), c_(std::move(costs)), v_(variant),
        count_(3, std::vector<int>(stages, 0)),
        finish_(3, std::vector<double>(static_cast<size_t>(stages) * microbatches, 0)),
        end_(stages, 0), pending_(stages, 0), bubble_(stages, 0), order_(stages) {}

  // The plan's length (the longest stage's first F to last W), or nullopt when the cap leaves a
  // stage no room for its next forward.
  std::optional<double> Plan() {
    for (int i = 0; i < m_; ++i) {
      if (!(i == 0 ? WarmUp() : SteadyStep(i))) return std::nullopt;
    }
    for (int j = 0; j < p_; ++j) {
      if (count_[kF][j] != m_ || count_[kB][j] != m_) return std::nullopt;
    }
    double longest = 0;
    for (int j = 0; j < p_; ++j) {
      while (count_[kW][j] < m_) Put(j, kW);
      longest = std::max(longest, Finish(kW, j, m_ - 1) - Finish(kF, j, 0) + c_.pass[kF][j]);
    }
    return longest;
  }

  // Stage j's passes as actions, micro-batches offset by `first`.
  std::vector<Action> Actions(int j, int first) const {
    std::vector<Action> actions;
    for (const auto& [pass, mb] : order_[j]) {
      actions.push_back(pass == kF   ? Action::Forward(first + mb)
                        : pass == kB ? Action::BackwardInput(first + mb)
                                     : Action::BackwardWeight(first + mb));
    }
    return actions;
  }

 private:
  double& Finish(int pass, int j, int mb) { return finish_[pass][j * m_ + mb]; }
  double MaxBubble() const { return *std::max_element(bubble_.begin(), bubble_.end()); }

  void Put(int j, int pass) {
    const int mb = count_[pass][j];
    const double cost = c_.pass[pass][j];
    double done = end_[j] + cost;
    const double unhindered = done;
    if (pass == kF && j > 0) {
      done = std::max(done, Finish(kF, j - 1, mb) + c_.boundary[j - 1] + cost);
    }
    if (pass == kB && j < p_ - 1) {
      done = std::max(done, Finish(kB, j + 1, mb) + c_.boundary[j] + cost);
    }
    if (count_[kF][j] > 0) bubble_[j] += done - unhindered;
    end_[j] = done;
    Finish(pass, j, mb) = done;
    pending_[j] += pass == kF ? 1 : pass == kW ? -1 : 0;
    order_[j].push_back({pass, mb});
    ++count_[pass][j];
  }

  // Runs Ws on stage j while they end before `arrival` (when its next input comes); then one
  // more into the partial hole, unless that would make j the stage with the most bubble.
  void FillWait(int j, double arrival) {
    while (count_[kW][j] < count_[kB][j] && end_[j] + c_.pass[kW][j] <= arrival) Put(j, kW);
    if (count_[kW][j] < count_[kB][j] && end_[j] < arrival) {
      const bool within_worst = arrival - end_[j] <= MaxBubble() - bubble_[j];
      if (!within_worst || v_.fill_partial_holes) Put(j, kW);
    }
  }

  // Whether stage j's next forward has its input planned: upstream ran that micro-batch's
  // forward. (The authors' heuristic can let a downstream stage run ahead of its upstream one
  // when the upstream one holds back - a plan that deadlocks; such a forward waits a round.)
  bool Fed(int j) const { return j == 0 || count_[kF][j] < count_[kF][j - 1]; }

  // Room for one more forward on stage j: Ws first while the cap is reached.
  bool MakeRoom(int j) {
    while (pending_[j] + 1 > cap_) {
      if (count_[kW][j] >= count_[kB][j]) return false;
      Put(j, kW);
    }
    return true;
  }

  // Micro-batch 0: its forward everywhere, the forwards each stage can run before micro-batch
  // 0's B reaches it (non-increasing downstream), then B back up the pipeline.
  bool WarmUp() {
    for (int j = 0; j < p_; ++j) Put(j, kF);
    std::vector<int> extra(p_, 0);
    double b_arrives = 0;
    for (int j = p_ - 1; j >= 0; --j) {
      if (j == p_ - 1) {
        b_arrives = Finish(kF, j, 0) + c_.pass[kB][j];
        continue;
      }
      const double arrival = b_arrives + c_.boundary[j];
      int held = pending_[j];
      double busy_until = end_[j];
      while (count_[kF][j] + extra[j] < m_ && held + 1 <= cap_) {
        const bool stop = v_.bubble_before_first_b ? busy_until + c_.pass[kF][j] > arrival
                                                   : busy_until >= arrival;
        if (stop) break;
        ++held;
        busy_until += c_.pass[kF][j];
        ++extra[j];
      }
      b_arrives = std::max(busy_until, arrival) + c_.pass[kB][j];
    }
    for (int j = 1; j < p_; ++j) {
      while (extra[j] > 0 && extra[j] >= extra[j - 1] && count_[kF][j] + extra[j] < m_) --extra[j];
    }
    for (int j = 0; j < p_; ++j) {
      for (int k = 0; k < extra[j] && Fed(j); ++k) Put(j, kF);
    }
    for (int j = p_ - 1; j >= 0; --j) Put(j, kB);
    return true;
  }

  // Whether stage j runs a forward in this round (prefer_b: not when the next stage lags two
  // forwards behind and waiting for its B costs less bubble).
  bool WantsForward(int j) {
    if (count_[kF][j] >= m_) return false;
    if (!v_.prefer_b || j + 1 >= p_ || count_[kF][j] < count_[kF][j + 1] + 2) return true;
    const double next_b = end_[j + 1] + c_.pass[kF][j + 1] + c_.pass[kB][j + 1] +
                          c_.boundary[j];
    if (end_[j] >= next_b) return false;
    double w_cost = 0;
    int held = pending_[j] + 1;
    for (int k = 0; held > cap_ && count_[kW][j] + k < count_[kB][j]; ++k, --held) {
      w_cost += c_.pass[kW][j];
    }
    if (end_[j] + c_.pass[kF][j] + w_cost <= next_b) return true;
    return next_b - end_[j] > MaxBubble() - bubble_[j];
  }

  // Micro-batch i > 0: forwards where wanted (never more upstream than downstream), then B of i
  // back up the pipeline, each pass preceded by the Ws that fit the wait for its input.
  bool SteadyStep(int i) {
    std::vector<bool> forward(p_);
    for (int j = 0; j < p_; ++j) forward[j] = WantsForward(j);
    for (int j = p_ - 2; j >= 0; --j) forward[j] = forward[j] && forward[j + 1];
    for (int j = 0; j < p_; ++j) {
      if (!forward[j] || !Fed(j)) continue;
      if (!MakeRoom(j)) return false;
      if (j > 0) FillWait(j, Finish(kF, j - 1, count_[kF][j]) + c_.boundary[j - 1]);
      Put(j, kF);
    }
    for (int j = p_ - 1; j >= 0; --j) {
      if (count_[kF][j] <= i) return false;  // B(i) before its forward: this variant fails
      if (j + 1 < p_) FillWait(j, Finish(kB, j + 1, i) + c_.boundary[j]);
      if (j == 0 && count_[kF][j] == m_) {
        while (count_[kW][j] < count_[kB][j]) Put(j, kW);
      }
      Put(j, kB);
    }
    return true;
  }

  const int p_, m_, cap_;
  const PlanCosts c_;
  const Variant v_;
  std::vector<std::vector<int>> count_;       // [pass][stage]: passes placed
  std::vector<std::vector<double>> finish_;   // [pass][stage * m + mb]: planned end time
  std::vector<double> end_;                   // [stage]: when its last placed pass ends
  std::vector<int> pending_;                  // [stage]: micro-batches between F and W
  std::vector<double> bubble_;                // [stage]: idle time since its first forward
  std::vector<std::vector<std::pair<int, int>>> order_;  // [stage]: (pass, micro-batch)
};

// The shortest of the heuristic's eight variants.
absl::StatusOr<std::shared_ptr<const Planner>> BestPlan(const ScheduleParams& params, int cap) {
  const PlanCosts costs = CostsFor(params);
  std::shared_ptr<Planner> best;
  double best_length = 0;
  for (bool bubble_before_first_b : {true, false}) {
    for (bool prefer_b : {true, false}) {
      for (bool fill_partial_holes : {true, false}) {
        auto planner = std::make_shared<Planner>(
            params.stages, params.microbatches, cap, costs,
            Variant{bubble_before_first_b, prefer_b, fill_partial_holes});
        const std::optional<double> length = planner->Plan();
        if (length && (!best || *length < best_length)) {
          best = std::move(planner);
          best_length = *length;
        }
      }
    }
  }
  if (!best) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_pending_backward ", cap, " leaves no plan: every stage must hold at least one "
        "micro-batch between its forward and its weight gradient"));
  }
  return std::shared_ptr<const Planner>(std::move(best));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeAutoZeroBubble(const ScheduleParams& params,
                                                            const char* name, int default_cap) {
  PB_RETURN_IF_ERROR(RequireSingleChunk(name, params));
  const int cap = params.max_pending_backward > 0 ? params.max_pending_backward : default_cap;
  PB_ASSIGN_OR_RETURN(std::shared_ptr<const Planner> plan, BestPlan(params, cap));
  return MakeScheduleFromSpec(
      params, {.name = name,
               .synchronous = true,
               .splits_backward = true,
               .plans_from_costs = true,
               .make_program = [plan](const ScheduleParams& p, int rank) {
                 std::vector<Action> actions;
                 for (int batch = 0; batch < p.batches; ++batch) {
                   for (const Action& a : plan->Actions(rank, batch * p.microbatches)) {
                     actions.push_back(a);
                   }
                   actions.push_back(Action::OptimizerStep());
                 }
                 return std::make_unique<StaticProgram>(std::move(actions));
               }});
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZb1p(const ScheduleParams& params) {
  return MakeAutoZeroBubble(params, "zb_1p", params.stages);
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeZb2p(const ScheduleParams& params) {
  return MakeAutoZeroBubble(params, "zb_2p", 2 * params.stages);
}

}  // namespace

PIPEBENCH_REGISTER_SCHEDULE("zb_1p", MakeZb1p);
PIPEBENCH_REGISTER_SCHEDULE("zb_2p", MakeZb2p);

}  // namespace pipebench
