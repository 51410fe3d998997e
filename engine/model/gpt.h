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
//
// This is the project's one GPT layout: the NAS module's derived architectures (per-block head
// counts and MLP ratios, optionally a head tied to the token table) are GptConfigs and train on
// the pipeline engine like any other model. A block's tensors, in order: LayerNorm 1 gain and
// bias, the fused q/k/v projection [3d, d] and its bias (rows q, then k, then v, as in GPT-2's
// c_attn), the attention output projection and bias, LayerNorm 2, the MLP's two layers. The head
// has no bias (GPT-2, nanoGPT).
#ifndef PIPEBENCH_ENGINE_MODEL_GPT_H_
#define PIPEBENCH_ENGINE_MODEL_GPT_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/stage_model.h"

namespace pipebench {

struct GptConfig {
  int vocab_size = 65;
  int layers = 4;
  int embed = 128;
  // Every block's head count and MLP expansion, unless the per-block lists are given (one entry
  // per block, as a derived architecture has).
  int heads = 4;
  int mlp_ratio = 4;
  std::vector<int> block_heads;
  std::vector<int> block_mlp_ratio;
  int context = 64;
  // Dropout on the embedding, the attention probabilities and each block's attention and MLP
  // outputs (GPT-2's places; the PACI paper trains with 0.1). Applied only in forwards given a
  // dropout seed (training).
  double dropout = 0.0;
  // The head's weight is the token table (GPT-2). The table belongs to unit 0 and the head unit
  // reads it there, so a tied model runs only with both units on one stage (Partition* refuse
  // more stages: a table shared by two stages would need its gradients summed across them before
  // every update, which asynchronous schedules have no single moment for).
  bool tied_embeddings = false;

  int units() const { return layers + 2; }
  // Block b's (0-based; unit b + 1) head count and MLP ratio.
  int HeadsOf(int block) const { return block_heads.empty() ? heads : block_heads[block]; }
  int MlpRatioOf(int block) const {
    return block_mlp_ratio.empty() ? mlp_ratio : block_mlp_ratio[block];
  }
  // Errors name the field: sizes must be >= 1, per-block lists one entry per block, and embed
  // divisible by every head count.
  absl::Status Validate() const;
  std::string Describe() const;
};

// About how many bytes training `config` takes in one process: fp32 weights, gradients and AdamW's
// two moments (16 bytes a parameter) and the activations `microbatches_in_flight` micro-batches
// of `micro_batch_size` sequences keep for their backward. An estimate for refusing absurd sizes
// before anything is allocated, not an accounting (the simulator's memory model is that).
double EstimateTrainingBytes(const GptConfig& config, int micro_batch_size,
                             int microbatches_in_flight);

// ResourceExhausted, naming the estimate and the limit, when EstimateTrainingBytes exceeds
// `limit_bytes` (PhysicalMemoryBytes() for a run on this machine's CPU).
absl::Status CheckTrainingFits(const GptConfig& config, int micro_batch_size,
                               int microbatches_in_flight, double limit_bytes);
double PhysicalMemoryBytes();

// A GPT shape from "layers=4,embed=128,heads=4,mlp_ratio=4,context=64,dropout=0.1" (keys may be
// omitted to keep their defaults), or from a model file when `text` ends in ".json" (see
// ParseGptConfigJson; relative paths from where the command was run, else the repository root).
// Unknown keys, non-integer sizes, a dropout outside [0, 1) and invalid shapes are errors naming
// the problem.
absl::StatusOr<GptConfig> ParseGptConfig(const std::string& text, int vocab_size);

// A model file: {"layers": 3, "embed": 96, "heads": 4 or [4, 2, 4], "mlp_ratio": 4 or [...],
// "context": 64, "dropout": 0.2, "tied_embeddings": true, "description": "..."}. Only "layers" and
// "embed" are required; lists need one entry per layer. The vocabulary is the data's, as for a
// shape string. Errors start with `origin` and name the field.
absl::StatusOr<GptConfig> ParseGptConfigJson(const std::string& json_text, int vocab_size,
                                             const std::string& origin);
// The model file of `config` (per-block lists when it has them), which ParseGptConfigJson reads
// back to an equal config.
std::string GptConfigToJson(const GptConfig& config, const std::string& description = "");

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

// The GPT as the engine trains it, cut into stages.
class GptModel final : public StageModel {
 public:
  explicit GptModel(GptConfig config) : config_(std::move(config)) {}
  const GptConfig& config() const { return config_; }

  int units() const override { return config_.units(); }
  int context() const override { return config_.context; }
  int vocab_size() const override { return config_.vocab_size; }
  // The config's own checks, and a tied model on one stage only (see GptConfig).
  absl::Status CheckStages(int stages) const override;
  std::vector<torch::Tensor> InitWeights(UnitRange range, std::uint64_t seed) const override;
  std::vector<bool> WeightDecayMask(UnitRange range) const override;
  std::vector<bool> ArchitectureMask(UnitRange range) const override {
    return std::vector<bool>(WeightDecayMask(range).size(), false);
  }
  torch::Tensor Forward(UnitRange range, const std::vector<torch::Tensor>& weights,
                        const torch::Tensor& input,
                        std::optional<std::uint64_t> dropout_seed) const override;
  // [batch, context, embed]
  std::vector<std::int64_t> ActivationShape(int batch) const override;
  // Korthikanti et al. 2022 for fp32: context * batch * embed * (34 + 5 * heads * context /
  // embed) * 2 bytes per block.
  double ActivationBytes(UnitRange range, int batch) const override;
  std::string Describe() const override { return config_.Describe(); }

 private:
  GptConfig config_;
};

// A whole GPT held as one value: its shape and every unit's weights (leaves, InitWeights' order).
// NAS hands a derived architecture over as one, with weights inherited from its supernet.
struct GptNetwork {
  GptConfig config;
  std::vector<torch::Tensor> weights;

  // Logits for token ids [batch, time]; dropout only with a seed (see ForwardUnits).
  torch::Tensor Forward(const torch::Tensor& tokens,
                        std::optional<std::uint64_t> dropout_seed = std::nullopt) const;
  // A copy with tensors of its own.
  GptNetwork Clone() const;
  std::int64_t ParameterCount() const { return pipebench::ParameterCount(weights); }
};

// A freshly initialised network of `config` (InitWeights over all units).
GptNetwork InitNetwork(const GptConfig& config, std::uint64_t seed);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_GPT_H_
