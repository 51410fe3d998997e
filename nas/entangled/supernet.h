// The weight-entangled GPT supernet over a search space of embedding widths (global), head counts
// and MLP ratios (per layer) and depths: every candidate network is a set of prefix slices of one
// set of super-weights.
//
// Mixed mode takes mixing weights for each decision and runs the supernet once (depth is mixed as
// the weighted sum of the hidden states after each candidate depth). Fixed mode runs one
// architecture exactly as its extracted network would, so a one-hot mixture and the fixed
// architecture agree (in the exact attention mode; see entangled_attention.h for the reference
// mode, which trades that for fewer attention calls).
#ifndef PIPEBENCH_NAS_ENTANGLED_SUPERNET_H_
#define PIPEBENCH_NAS_ENTANGLED_SUPERNET_H_

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/gpt.h"
#include "nas/entangled/entangled_attention.h"
#include "nas/entangled/entangled_linear.h"
#include "nas/entangled/entangled_norm_embedding.h"

namespace pipebench {

struct SearchSpace {
  std::vector<std::int64_t> embed;      // global embedding widths
  std::vector<std::int64_t> heads;      // per-layer head counts
  std::vector<std::int64_t> mlp_ratio;  // per-layer MLP expansion
  std::vector<std::int64_t> layers;     // candidate depths
  std::int64_t context = 64;
  std::int64_t vocab_size = 65;

  std::int64_t max_layers() const;
  // Every list non-empty and positive, every width divisible by every head count.
  absl::Status Validate() const;
};

// Reads {"embed": [...], "heads": [...], "mlp_ratio": [...], "layers": [...], "context": n}; unknown
// keys and wrong types are errors. The vocabulary comes from the data.
absl::StatusOr<SearchSpace> ParseSearchSpace(const std::string& json_text, std::int64_t vocab_size);

// Reads and parses the space file at `path` (relative paths from the repository root). A missing
// file is NotFound "cannot open <what> '<path>'", `what` naming where the path came from.
absl::StatusOr<SearchSpace> LoadSearchSpace(const std::string& path, std::int64_t vocab_size,
                                            const std::string& what = "search space");

// One architecture: an index into each choice list (per layer for heads and MLP ratio).
struct Architecture {
  int embed = 0;
  int layers = 0;
  std::vector<int> heads;      // max_layers entries; those past the depth are unused
  std::vector<int> mlp_ratio;  // likewise
};

// Mixing weights, one row per decision, each row summing to 1.
struct MixingWeights {
  torch::Tensor embed;      // [|embed|]
  torch::Tensor layers;     // [|layers|]
  torch::Tensor heads;      // [max_layers, |heads|]
  torch::Tensor mlp_ratio;  // [max_layers, |mlp_ratio|]
};

// How a supernet (and the networks it extracts) is built, beyond its space.
struct SupernetOptions {
  // kSeparate builds the weight-sharing baseline of the same space: separate weights per
  // candidate, outputs summed - for comparing memory and step time with the entangled supernet.
  WeightStorage storage = WeightStorage::kEntangled;
  AttentionMode attention = AttentionMode::kExact;
  // In training only: on the embedding sum, the attention probabilities and both residual
  // branches, as in GPT-2 and nanoGPT (whose settings TangleNAS uses).
  double dropout = 0;
  // The head reuses the token embedding table as its weight (GPT-2).
  bool tied_embeddings = false;
};

// Parameters of the standalone network `arch` extracts to.
std::int64_t DerivedParameterCount(const SearchSpace& space, const Architecture& arch,
                                   bool tied_embeddings = false);

// A uniformly drawn architecture of `space` (every index in range, for every layer).
Architecture RandomArchitecture(const SearchSpace& space, std::mt19937_64& rng);

// The one-hot weights of `arch`.
MixingWeights OneHot(const SearchSpace& space, const Architecture& arch);

// The engine model `arch` extracts to: per-block head counts and MLP ratios, the space's context
// and vocabulary, `options`' dropout and tying. It trains on the pipeline engine like any GPT
// (`//engine:train --model=<its GptConfigToJson file>`).
GptConfig DerivedConfig(const SearchSpace& space, const Architecture& arch,
                        const SupernetOptions& options);

class EntangledGpt {
 public:
  static absl::StatusOr<EntangledGpt> Create(const SearchSpace& space, std::uint64_t seed,
                                             const SupernetOptions& options = {});

  // tokens [batch, time] -> logits [batch, time, vocab]; dropout applies only with `training`.
  torch::Tensor Mixed(const torch::Tensor& tokens, const MixingWeights& weights,
                      bool training = false) const;
  torch::Tensor Fixed(const torch::Tensor& tokens, const Architecture& arch,
                      bool training = false) const;
  // `arch` as a standalone engine network whose weights are copies of the supernet's (inherited):
  // q, k and v concatenated into the engine's fused projection.
  GptNetwork Extract(const Architecture& arch) const;

  // The supernet as a chain of units, for pipelining (the engine's StageModel layout): unit 0 =
  // the token and position tables, unit 1 + l = layer l, the last (max_layers + 1) = the final
  // norm and the head.
  int units() const { return static_cast<int>(space_.max_layers()) + 2; }
  // Unit `unit`'s leaf tensors; parameters() is their concatenation in unit order.
  std::vector<torch::Tensor> UnitParameters(int unit) const;
  // What Mixed passes from unit to unit: the hidden state (token ids into unit 0, logits out of
  // the last) and the depth mixture so far, the weighted sum of the hidden states after each
  // candidate depth (undefined before unit 1 and after the head).
  struct MixedState {
    torch::Tensor x;
    torch::Tensor by_depth;
  };
  // Mixed over units [begin, end). With `params` (those units' UnitParameters, concatenated), the
  // units compute with them in place of the supernet's own (a pipeline stage's weight version;
  // not for a tied head, which always reads the supernet's own table). Only the rows of `w` the
  // units use are read: embed and layers, and heads / mlp_ratio of their layers.
  MixedState MixedUnits(int begin, int end, const std::vector<torch::Tensor>* params,
                        MixedState state, const MixingWeights& w, double dropout) const;

  std::vector<torch::Tensor> parameters() const;
  std::int64_t ParameterCount() const;
  const SearchSpace& space() const { return space_; }
  const SupernetOptions& options() const { return options_; }

 private:
  struct Layer {
    EntangledLayerNorm norm1;
    EntangledAttention attention;
    EntangledLayerNorm norm2;
    EntangledLinear mlp_in;   // choices (e * r, e), embed-major
    EntangledLinear mlp_out;  // choices (e, e * r)
  };
  EntangledGpt(SearchSpace space, SupernetOptions options, EntangledEmbedding tokens,
               EntangledEmbedding positions, std::vector<Layer> layers,
               EntangledLayerNorm final_norm, EntangledLinear head)
      : space_(std::move(space)), options_(options), tokens_(std::move(tokens)),
        positions_(std::move(positions)), layers_(std::move(layers)),
        final_norm_(std::move(final_norm)), head_(std::move(head)) {}

  SearchSpace space_;
  SupernetOptions options_;
  EntangledEmbedding tokens_;
  EntangledEmbedding positions_;
  std::vector<Layer> layers_;
  EntangledLayerNorm final_norm_;
  EntangledLinear head_;  // choices (vocab, e), no bias; its weights are tokens_' when tied
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_ENTANGLED_SUPERNET_H_
