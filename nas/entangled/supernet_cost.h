// What a supernet costs to train, measured: step time and memory, for entangled against separate
// (weight-sharing) storage, dense against one-hot mixing and the exact against the reference
// attention mode. The harness's "nas_cost" cells and //nas/entangled:supernet_benchmark both
// measure through this.
//
// Memory is read from the kernel, since LibTorch's CPU allocator keeps no statistics:
// parameters and AdamW's two moments are counted from the tensors; a step's working memory
// (activations kept for backward, gradients, temporaries) is the resident-set high-water mark
// during the step above the resident set at its start, with the high-water mark reset through
// /proc/self/clear_refs and freed heap returned to the kernel (malloc_trim) before each step.
#ifndef PIPEBENCH_NAS_ENTANGLED_SUPERNET_COST_H_
#define PIPEBENCH_NAS_ENTANGLED_SUPERNET_COST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nas/entangled/supernet.h"

namespace pipebench {

// Dense: every candidate weighted (DARTS, DrNAS); one-hot: one sampled path (GDAS, SPOS).
enum class Mixing { kDense, kOneHot };
absl::StatusOr<Mixing> ParseMixing(const std::string& name);  // "dense" or "one_hot"
std::string MixingName(Mixing mixing);

// One weight-training step of a supernet - forward with mixing weights, backward, AdamW - set up
// once and run many times. Dense weights are a fixed random softmax; one-hot weights are a fresh
// random architecture each step.
class SupernetTrainingStep {
 public:
  static absl::StatusOr<std::unique_ptr<SupernetTrainingStep>> Create(
      const SearchSpace& space, const SupernetOptions& network, Mixing mixing, int batch_size,
      std::uint64_t seed);
  ~SupernetTrainingStep();

  void Run();
  const EntangledGpt& supernet() const;

 private:
  struct State;
  explicit SupernetTrainingStep(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

struct SupernetCost {
  std::int64_t parameters = 0;
  std::int64_t parameter_bytes = 0;
  std::int64_t optimizer_state_bytes = 0;  // AdamW's two moments
  double step_seconds = 0;                 // median of the timed steps
  std::int64_t step_working_bytes = 0;     // the largest over the timed steps
  std::int64_t peak_rss_bytes = 0;         // the process's high-water mark over the timed steps
  // Largest |logits| difference between the supernet under one-hot mixing and the extracted
  // network, over the smallest, the largest and `probe_architectures` random architectures:
  // ~1e-6 in the exact mode; what the reference mode's approximation costs otherwise.
  double one_hot_max_abs_diff = 0;
};

struct SupernetCostOptions {
  SupernetOptions network;
  Mixing mixing = Mixing::kDense;
  int batch_size = 16;
  int steps = 10;  // timed, after one untimed warm-up step
  int probe_architectures = 4;
  std::uint64_t seed = 0;
};

absl::StatusOr<SupernetCost> MeasureSupernetCost(const SearchSpace& space,
                                                 const SupernetCostOptions& options);

// Resident set and its high-water mark, from /proc/self/status.
struct ResidentMemory {
  std::int64_t rss_bytes = 0;
  std::int64_t high_water_bytes = 0;
};
absl::StatusOr<ResidentMemory> ReadResidentMemory();
// Resets the high-water mark to the current resident set (Linux >= 4.0).
absl::Status ResetResidentHighWater();

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_SUPERNET_COST_H_
