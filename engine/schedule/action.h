// The unit of every pipeline schedule: one action a rank performs.
//
// The simulator, the single-process executor and the distributed runtime all consume the same
// actions. Schedules emit compute actions and optimizer steps; the communication between stages
// follows from the data dependencies and is recorded by whoever runs the schedule.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_ACTION_H_
#define PIPEBENCH_ENGINE_SCHEDULE_ACTION_H_

#include <cstdint>
#include <string>

namespace pipebench {

enum class ActionType : std::uint8_t {
  kForward,
  kBackward,        // input and weight gradients together
  kBackwardInput,   // input gradient only (zero-bubble "B")
  kBackwardWeight,  // weight gradient only (zero-bubble "W")
  kOptimizerStep,   // steps every chunk this rank holds
  kSendActivation,
  kSendGradient,
};

// True for the actions that run the model: forward and the three backward kinds.
inline bool IsCompute(ActionType type) {
  return type == ActionType::kForward || type == ActionType::kBackward ||
         type == ActionType::kBackwardInput || type == ActionType::kBackwardWeight;
}
// kBackward or kBackwardInput.
inline bool IsBackwardPass(ActionType type) {
  return type == ActionType::kBackward || type == ActionType::kBackwardInput;
}

// Eight bytes, so an action (and a program's decision, see rank_program.h) travels in registers:
// GCC builds larger small structs in memory field by field and reads them back whole, which the
// processor cannot forward from its store buffer (a stall on every action the simulator runs).
struct Action {
  ActionType type = ActionType::kForward;
  // Local virtual chunk on the rank, 0 <= chunk < chunks <= kMaxChunks; which model stage it is
  // is the schedule's placement's (Schedule::StageOf).
  std::int16_t chunk = 0;
  // Global micro-batch index (batch * m + index within the batch); -1 for optimizer steps.
  std::int32_t microbatch = -1;

  static constexpr int kMaxChunks = 32767;

  // Note the order: micro-batch, then chunk, as in the named constructors below. A chunk that
  // does not fit becomes -1, which the rank driver rejects as out of range (rather than wrapping
  // to a valid chunk).
  static Action Make(ActionType type, int microbatch, int chunk) {
    const bool fits = chunk >= 0 && chunk < kMaxChunks;
    return {type, static_cast<std::int16_t>(fits ? chunk : -1), microbatch};
  }
  static Action Forward(int microbatch, int chunk = 0) {
    return Make(ActionType::kForward, microbatch, chunk);
  }
  static Action Backward(int microbatch, int chunk = 0) {
    return Make(ActionType::kBackward, microbatch, chunk);
  }
  static Action BackwardInput(int microbatch, int chunk = 0) {
    return Make(ActionType::kBackwardInput, microbatch, chunk);
  }
  static Action BackwardWeight(int microbatch, int chunk = 0) {
    return Make(ActionType::kBackwardWeight, microbatch, chunk);
  }
  static Action OptimizerStep() { return Make(ActionType::kOptimizerStep, -1, 0); }

  friend bool operator==(const Action& a, const Action& b) {
    return a.type == b.type && a.chunk == b.chunk && a.microbatch == b.microbatch;
  }
  friend bool operator!=(const Action& a, const Action& b) { return !(a == b); }
};

// One letter per type, as in the zero-bubble papers: F, B, I (input grad), W, U (update), S, G.
char ActionLetter(ActionType type);

// "F3", "B3", "F3.1" (chunk 1), "U".
std::string ToString(const Action& action);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_ACTION_H_
