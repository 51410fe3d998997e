// Measures the real per-stage costs of a model (the GPT, or any StageModel) on this machine and returns them as a cost model,
// so the simulator, the executor's clock and the time-to-accuracy numbers use measured costs.
#ifndef PIPEBENCH_ENGINE_EXEC_COST_MEASUREMENT_H_
#define PIPEBENCH_ENGINE_EXEC_COST_MEASUREMENT_H_

#include <torch/torch.h>

#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/optimizer.h"
#include "engine/model/stage_model.h"
#include "engine/sim/cost_model.h"

namespace pipebench {

// Timed rounds of the experiment harness's cost measurements: its costs cells and the pinned cost
// files of //:pin_costs.
inline constexpr int kHarnessMeasurementRepeats = 25;

// The middle value (the upper of the two middle ones for an even count); `values` non-empty.
double Median(std::vector<double> values);

struct MeasurementOptions {
  int micro_batch_size = 8;
  int warmup = 3;    // untimed rounds first
  int repeats = 15;  // timed rounds; each variant keeps its median
  // Measure every stage at once, each in its own thread, as when p processes share the machine:
  // contention for cores, caches and memory bandwidth is then part of the measured cost.
  bool concurrent = false;
  // Where the stages compute (see engine/platform/device.h); on a GPU each timing waits for the
  // device, so it is the kernels' time, not their launch's.
  torch::Device device = torch::kCPU;
};

// Per stage: forward, input-gradient, weight-gradient and AdamW-step seconds (median) of training
// forwards (dropout on, a supernet's architecture sampled, a new seed each time), bytes sent
// downstream per micro-batch, parameter and optimizer-state bytes, and live activation bytes per
// in-flight micro-batch (the tensors autograd saves, as the model estimates them:
// StageModel::ActivationBytes).
// Point-to-point fields are left at zero; measure the link separately.
absl::StatusOr<CostModel> MeasureStageCosts(const StageModel& model,
                                            const std::vector<UnitRange>& partition,
                                            const MeasurementOptions& options);

// Measures every unit's forward and backward and splits the model into `stages` contiguous
// stages whose slowest is as fast as possible: stages balanced by time, as the PACI reference
// partitions them (by layers, the embedding and head make the end stages heavier).
absl::StatusOr<std::vector<UnitRange>> PartitionByMeasuredTime(const StageModel& model, int stages,
                                                               const MeasurementOptions& options);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_EXEC_COST_MEASUREMENT_H_
