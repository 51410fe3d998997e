// What each action costs (time) and holds (memory), per model stage.
//
// One entry applies to every stage (uniform); otherwise there is one entry per model stage
// (p * v). The same file format describes a hand-written model and costs measured on the real
// GPT, so the simulator's predictions and the executors' measurements line up stage by stage:
//
//   {"p2p": {"latency": 5e-05, "bandwidth_bytes_per_second": 1e9},
//    "stages": [{"forward": 0.010, "backward_input": 0.010, "backward_weight": 0.010,
//                "optimizer_step": 0.001, "activation_bytes": 65536,
//                "parameter_bytes": 3145728, "optimizer_state_bytes": 6291456,
//                "activation_memory_bytes": 1048576}]}
//
// Times are in seconds (any unit works if used consistently); unknown keys are errors.
#ifndef PIPEBENCH_ENGINE_SIM_COST_MODEL_H_
#define PIPEBENCH_ENGINE_SIM_COST_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pipebench {

struct StageCost {
  double forward = 1.0;
  double backward_input = 1.0;   // gradient w.r.t. the stage input
  double backward_weight = 1.0;  // gradient w.r.t. the stage weights
  double optimizer_step = 0.0;
  // Bytes sent downstream per micro-batch (and the same back upstream as its gradient).
  double activation_bytes = 0.0;

  double backward() const { return backward_input + backward_weight; }
};

struct StageMemory {
  std::int64_t parameter_bytes = 0;
  std::int64_t optimizer_state_bytes = 0;
  // Held from a micro-batch's forward until its weight gradient has run.
  std::int64_t activation_bytes = 0;
};

struct CostModel {
  std::vector<StageCost> stages = {StageCost()};
  std::vector<StageMemory> memory = {StageMemory()};
  double p2p_latency = 0.0;
  double p2p_bandwidth = 0.0;  // bytes per second; 0 means transfers cost only the latency

  const StageCost& cost(int model_stage) const {
    return stages.size() == 1 ? stages[0] : stages[model_stage];
  }
  const StageMemory& memory_of(int model_stage) const {
    return memory.size() == 1 ? memory[0] : memory[model_stage];
  }
  // Time for one message of `bytes` once the link is free, latency excluded.
  double SerializationTime(double bytes) const {
    return p2p_bandwidth > 0 ? bytes / p2p_bandwidth : 0.0;
  }

  // Checks for negative or non-finite numbers and that per-stage lists have 1 or `model_stages`
  // entries; the error names the field and stage.
  absl::Status Validate(int model_stages) const;
};

absl::StatusOr<CostModel> ParseCostModelJson(const std::string& text);
absl::StatusOr<CostModel> LoadCostModel(const std::string& path);
std::string CostModelToJson(const CostModel& model);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SIM_COST_MODEL_H_
