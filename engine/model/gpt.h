// A GPT (token + position embedding, pre-LayerNorm blocks with causal self-attention and an MLP,
// final LayerNorm, LM head), written as functions of explicit weight tensors.
//
// Explicit weights are what let the pipeline executor hold several versions of a stage's weights
// (PipeDream's stash, 2BW's double buffer) or update one copy while older forwards are still
// waiting for their backward (PACI), without touching LibTorch's module machinery.
//
// The model is a chain of units: 0 = embedding, 1..layers = blocks, layers+1 = final LayerNorm and
// head. A pipeline stage owns a contiguous range of units. Weights are initialised per unit from
// (seed, unit), so the same seed gives the same model however it is partitioned.
#ifndef PIPEBENCH_ENGINE_MODEL_GPT_H_
#define PIPEBENCH_ENGINE_MODEL_GPT_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pipebench {

struct GptConfig {
  int vocab_size = 65;
  int layers = 4;
  int embed = 128;
  int heads = 4;
  int mlp_ratio = 4;
  int context = 64;
  // Dropout on the embedding and on each block's attention and MLP outputs (GPT-2's places; the
  // PACI paper trains with 0.1). Applied only in forwards given a dropout seed (training).
  double dropout = 0.0;

  int units() const { return layers + 2; }
  // Errors name the field: sizes must be >= 1 and embed divisible by heads.
  absl::Status Validate() const;
  std::string Describe() const;
};

// A GPT shape from "layers=4,embed=128,heads=4,mlp_ratio=4,context=64,dropout=0.1" (keys may be
// omitted to keep their defaults); unknown keys, non-integer sizes, a dropout outside [0, 1) and
// invalid shapes are errors naming the problem.
absl::StatusOr<GptConfig> ParseGptConfig(const std::string& text, int vocab_size);

// Units [begin, end).
struct UnitRange {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
  friend bool operator==(const UnitRange& a, const UnitRange& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

// Fresh leaf tensors (requires_grad) for the units of `range`, in ForwardUnits' order.
std::vector<torch::Tensor> InitWeights(const GptConfig& config, UnitRange range,
                                       std::uint64_t seed);

// Runs the units of `range`. Input: token ids [batch, context] when the range starts at unit 0,
// else hidden states [batch, context, embed]. Output: logits [batch, context, vocab] when the
// range ends with the head, else hidden states. With `dropout_seed` (a training forward) and
// config.dropout > 0, dropout masks are drawn from (dropout_seed, unit): the same masks however
// the model is partitioned into stages, so a pipelined run drops what an unpipelined one does.
torch::Tensor ForwardUnits(const GptConfig& config, UnitRange range,
                           const std::vector<torch::Tensor>& weights, const torch::Tensor& input,
                           std::optional<std::uint64_t> dropout_seed = std::nullopt);

// Mean next-token cross-entropy.
torch::Tensor LanguageModelLoss(const torch::Tensor& logits, const torch::Tensor& targets);

// Which of `range`'s tensors take weight decay (matrices and embeddings, not biases or norms).
std::vector<bool> WeightDecayMask(const GptConfig& config, UnitRange range);

std::int64_t ParameterCount(const std::vector<torch::Tensor>& weights);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_GPT_H_
