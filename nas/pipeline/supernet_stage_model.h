// The weight-entangled supernet as a pipeline model: the engine's stage workers, executor and
// distributed runtime train it under any schedule, exactly as they train the GPT.
//
// Units are the supernet's (EntangledGpt::units): 0 = token and position tables, 1 + l = layer
// l, the last = final norm and head. Each unit also owns the architecture parameters alpha of the
// decisions it holds, initialised N(0, 1e-3) as in the single-process search:
//  - unit 0: the embedding width and the depth, the decisions every layer reads. Stage 0 owns
//    them; each micro-batch's sampled mixing weights for them travel downstream inside the
//    activation, and their gradient comes back upstream inside the input gradient, so the
//    global choices need no copy kept consistent across stages: they are stepped by stage 0's
//    optimizer, with stage 0's drift.
//  - unit 1 + l: layer l's head count and MLP ratio.
// A forward samples each unit's mixing weights with the sampler (DARTS softmax, DrNAS Dirichlet,
// GDAS hard Gumbel, SPOS uniform one-hot) from a generator seeded by (dropout seed, unit), so a
// micro-batch draws the same architecture however the supernet is partitioned. Evaluation
// forwards (no seed) mix with softmax(alpha) (sparsemax for darts_sparsemax).
//
// The activation between stages is one flat tensor: the hidden state and the depth mixture
// ([batch, context, max width] each), then the embedding-width and depth mixing weights.
//
// Alpha is a stage's tensor like any other; ExecutorOptions::architecture trains it bi-level,
// apart from the weights (StageModel::ArchitectureMask marks it). Not yet supported in the
// pipeline, each refused by Create with an error naming it: dropout (the supernet draws its masks from LibTorch's global generator, so they
// would depend on the partition) and tied embeddings (as for the GPT, the head would read a
// table another stage owns).
#ifndef PIPEBENCH_NAS_PIPELINE_SUPERNET_STAGE_MODEL_H_
#define PIPEBENCH_NAS_PIPELINE_SUPERNET_STAGE_MODEL_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/stage_model.h"
#include "nas/entangled/supernet.h"
#include "nas/samplers/architecture_sampler.h"

namespace pipebench {

class SupernetStageModel final : public StageModel {
 public:
  // `gdas_temperature` is the Gumbel-softmax temperature (GDAS only), fixed for the run.
  static absl::StatusOr<std::shared_ptr<const SupernetStageModel>> Create(
      const SearchSpace& space, const SupernetOptions& options, SamplerKind sampler,
      double gdas_temperature = 1.0);

  int units() const override { return structure_.units(); }
  int context() const override { return static_cast<int>(space_.context); }
  int vocab_size() const override { return static_cast<int>(space_.vocab_size); }
  absl::Status CheckStages(int stages) const override;
  // The supernet's tensors of `range` (EntangledGpt::Create(space, seed)'s, whatever the cut),
  // each unit's alpha rows after its weights.
  std::vector<torch::Tensor> InitWeights(UnitRange range, std::uint64_t seed) const override;
  // Matrices and embedding tables decay; biases, norms and alpha do not.
  std::vector<bool> WeightDecayMask(UnitRange range) const override;
  // Each unit's alpha rows.
  std::vector<bool> ArchitectureMask(UnitRange range) const override;
  torch::Tensor Forward(UnitRange range, const std::vector<torch::Tensor>& weights,
                        const torch::Tensor& input,
                        std::optional<std::uint64_t> dropout_seed) const override;
  // {2 * batch * context * max width + |embed| + |layers|}
  std::vector<std::int64_t> ActivationShape(int batch) const override;
  // The GPT's estimate at the largest width and head count, per layer.
  double ActivationBytes(UnitRange range, int batch) const override;
  std::string Describe() const override;

  // Alpha rows a unit owns (after its weights in InitWeights' order).
  int ArchitectureTensorsOf(int unit) const;
  // Alpha gathered from every unit's weights (the stages' final weights, concatenated in stage
  // order).
  MixingWeights Alpha(const std::vector<torch::Tensor>& all_weights) const;
  // The standalone network of `arch` with the weights it inherits from `all_weights` (laid out as
  // for Alpha): a supernet holding them, then EntangledGpt::Extract.
  GptNetwork ExtractInherited(const std::vector<torch::Tensor>& all_weights,
                              const Architecture& arch) const;
  const SearchSpace& space() const { return space_; }

 private:
  SupernetStageModel(SearchSpace space, SupernetOptions options, SamplerKind sampler,
                     double gdas_temperature, EntangledGpt structure)
      : space_(std::move(space)), options_(options), sampler_(sampler),
        gdas_temperature_(gdas_temperature), structure_(std::move(structure)) {}
  torch::Tensor Mix(const torch::Tensor& alpha, std::optional<std::uint64_t> dropout_seed,
                    int unit, int row) const;

  SearchSpace space_;
  SupernetOptions options_;
  SamplerKind sampler_;
  double gdas_temperature_;
  EntangledGpt structure_;  // its shapes and layer kinds; its own tensors are never trained
};

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_PIPELINE_SUPERNET_STAGE_MODEL_H_
