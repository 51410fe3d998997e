#include "nas/pipeline/supernet_stage_model.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {
namespace {

std::int64_t Largest(const std::vector<std::int64_t>& choices) {
  return *std::max_element(choices.begin(), choices.end());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const SupernetStageModel>> SupernetStageModel::Create(
    const SearchSpace& space, const SupernetOptions& options, SamplerKind sampler,
    double gdas_temperature) {
  if (options.dropout > 0) {
    return absl::UnimplementedError(
        "the pipelined supernet does not take dropout yet (its masks come from LibTorch's global "
        "generator, so they would depend on the partition); use a preset without dropout");
  }
  if (options.tied_embeddings) {
    return absl::UnimplementedError(
        "the pipelined supernet does not tie its head to the token table (the head would read a "
        "table another stage owns); use a preset with tied_embeddings false");
  }
  if (!(gdas_temperature > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GDAS temperature must be > 0, got ", gdas_temperature));
  }
  absl::StatusOr<EntangledGpt> structure = EntangledGpt::Create(space, 0, options);
  if (!structure.ok()) return structure.status();
  return std::shared_ptr<const SupernetStageModel>(new SupernetStageModel(
      space, options, sampler, gdas_temperature, *std::move(structure)));
}

absl::Status SupernetStageModel::CheckStages(int) const { return absl::OkStatus(); }

int SupernetStageModel::ArchitectureTensorsOf(int unit) const {
  return unit == units() - 1 ? 0 : 2;
}

std::vector<torch::Tensor> SupernetStageModel::InitWeights(UnitRange range,
                                                           std::uint64_t seed) const {
  const EntangledGpt supernet = *EntangledGpt::Create(space_, seed, options_);
  std::vector<torch::Tensor> weights;
  for (int unit = range.begin; unit < range.end; ++unit) {
    for (const torch::Tensor& w : supernet.UnitParameters(unit)) weights.push_back(w);
    if (ArchitectureTensorsOf(unit) == 0) continue;
    // Alpha from (seed, unit), so every cut draws the same values.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + 7919 + unit);
    auto alpha = [&](std::size_t choices) {
      return at::normal(0.0, 1e-3, {static_cast<std::int64_t>(choices)}, gen)
          .set_requires_grad(true);
    };
    if (unit == 0) {
      weights.push_back(alpha(space_.embed.size()));
      weights.push_back(alpha(space_.layers.size()));
    } else {
      weights.push_back(alpha(space_.heads.size()));
      weights.push_back(alpha(space_.mlp_ratio.size()));
    }
  }
  return weights;
}

std::vector<bool> SupernetStageModel::WeightDecayMask(UnitRange range) const {
  // The structure's tensors have the shapes InitWeights draws; alpha rows are vectors.
  std::vector<bool> mask;
  for (int unit = range.begin; unit < range.end; ++unit) {
    for (const torch::Tensor& w : structure_.UnitParameters(unit)) mask.push_back(w.dim() >= 2);
    mask.insert(mask.end(), ArchitectureTensorsOf(unit), false);
  }
  return mask;
}

MixingWeights SupernetStageModel::Alpha(const std::vector<torch::Tensor>& all_weights) const {
  MixingWeights alpha;
  std::vector<torch::Tensor> heads;
  std::vector<torch::Tensor> ratios;
  std::size_t next = 0;
  for (int unit = 0; unit < units(); ++unit) {
    next += structure_.UnitParameters(unit).size();
    if (unit == 0) {
      alpha.embed = all_weights.at(next).detach();
      alpha.layers = all_weights.at(next + 1).detach();
    } else if (unit < units() - 1) {
      heads.push_back(all_weights.at(next).detach());
      ratios.push_back(all_weights.at(next + 1).detach());
    }
    next += ArchitectureTensorsOf(unit);
  }
  TORCH_CHECK(next == all_weights.size(), "Alpha: ", all_weights.size(),
              " tensors for a supernet of ", next);
  alpha.heads = torch::stack(heads);
  alpha.mlp_ratio = torch::stack(ratios);
  return alpha;
}

GptNetwork SupernetStageModel::ExtractInherited(const std::vector<torch::Tensor>& all_weights,
                                                const Architecture& arch) const {
  // A supernet of its own (the structure's tensors are shared by every stage's model), its
  // tensors overwritten unit by unit; alpha rows are skipped.
  const EntangledGpt supernet = *EntangledGpt::Create(space_, /*seed=*/0, options_);
  torch::NoGradGuard no_grad;
  std::size_t next = 0;
  for (int unit = 0; unit < units(); ++unit) {
    for (torch::Tensor& w : supernet.UnitParameters(unit)) w.copy_(all_weights.at(next++));
    next += ArchitectureTensorsOf(unit);
  }
  TORCH_CHECK(next == all_weights.size(), "ExtractInherited: ", all_weights.size(),
              " tensors for a supernet of ", next);
  return supernet.Extract(arch);
}

std::vector<bool> SupernetStageModel::ArchitectureMask(UnitRange range) const {
  std::vector<bool> mask;
  for (int unit = range.begin; unit < range.end; ++unit) {
    mask.insert(mask.end(), structure_.UnitParameters(unit).size(), false);
    mask.insert(mask.end(), ArchitectureTensorsOf(unit), true);
  }
  return mask;
}

torch::Tensor SupernetStageModel::Mix(const torch::Tensor& alpha,
                                      std::optional<std::uint64_t> dropout_seed, int unit,
                                      int row) const {
  if (!dropout_seed) {
    return sampler_ == SamplerKind::kDartsSparsemax ? Sparsemax(alpha) : torch::softmax(alpha, -1);
  }
  ArchitectureSampler sampler(sampler_, (*dropout_seed * 1000003ULL + unit) * 2 + row);
  return sampler.Sample(alpha.unsqueeze(0), gdas_temperature_)[0];
}

torch::Tensor SupernetStageModel::Forward(UnitRange range, const std::vector<torch::Tensor>& weights,
                                          const torch::Tensor& input,
                                          std::optional<std::uint64_t> dropout_seed) const {
  const std::int64_t width = Largest(space_.embed);
  const std::int64_t embed_choices = static_cast<std::int64_t>(space_.embed.size());
  const std::int64_t depth_choices = static_cast<std::int64_t>(space_.layers.size());
  EntangledGpt::MixedState state;
  MixingWeights w;
  if (range.begin == 0) {
    state.x = input;
  } else {
    const std::int64_t hidden = (input.numel() - embed_choices - depth_choices) / 2;
    const std::int64_t batch = hidden / (space_.context * width);
    state.x = input.narrow(0, 0, hidden).view({batch, space_.context, width});
    state.by_depth = input.narrow(0, hidden, hidden).view({batch, space_.context, width});
    w.embed = input.narrow(0, 2 * hidden, embed_choices);
    w.layers = input.narrow(0, 2 * hidden + embed_choices, depth_choices);
  }
  // Rows of layers outside the range are never read.
  std::vector<torch::Tensor> heads(space_.max_layers(),
                                   torch::zeros({static_cast<std::int64_t>(space_.heads.size())}));
  std::vector<torch::Tensor> ratios(
      space_.max_layers(), torch::zeros({static_cast<std::int64_t>(space_.mlp_ratio.size())}));
  std::vector<torch::Tensor> supernet_weights;
  std::size_t next = 0;
  for (int unit = range.begin; unit < range.end; ++unit) {
    const std::size_t count = structure_.UnitParameters(unit).size();
    supernet_weights.insert(supernet_weights.end(), weights.begin() + next,
                            weights.begin() + next + count);
    next += count;
    if (unit == 0) {
      w.embed = Mix(weights[next], dropout_seed, unit, 0);
      w.layers = Mix(weights[next + 1], dropout_seed, unit, 1);
    } else if (unit < units() - 1) {
      heads[unit - 1] = Mix(weights[next], dropout_seed, unit, 0);
      ratios[unit - 1] = Mix(weights[next + 1], dropout_seed, unit, 1);
    }
    next += ArchitectureTensorsOf(unit);
  }
  TORCH_CHECK(next == weights.size(), "supernet stage: ", weights.size(),
              " tensors for units that have ", next);
  w.heads = torch::stack(heads);
  w.mlp_ratio = torch::stack(ratios);
  state = structure_.MixedUnits(range.begin, range.end, &supernet_weights, state, w, 0.0);
  if (range.end == units()) return state.x;
  return torch::cat({state.x.flatten(), state.by_depth.flatten(), w.embed, w.layers});
}

std::vector<std::int64_t> SupernetStageModel::ActivationShape(int batch) const {
  return {2 * batch * space_.context * Largest(space_.embed) +
          static_cast<std::int64_t>(space_.embed.size() + space_.layers.size())};
}

double SupernetStageModel::ActivationBytes(UnitRange range, int batch) const {
  const double time = static_cast<double>(space_.context);
  const double width = static_cast<double>(Largest(space_.embed));
  const double heads = static_cast<double>(Largest(space_.heads));
  const int layers = std::max(0, std::min(range.end, units() - 1) - std::max(range.begin, 1));
  return layers * time * batch * width * (34.0 + 5.0 * heads * time / width) * 2.0;
}

std::string SupernetStageModel::Describe() const {
  return absl::StrCat("supernet embed=[", absl::StrJoin(space_.embed, ","), "] heads=[",
                      absl::StrJoin(space_.heads, ","), "] mlp_ratio=[",
                      absl::StrJoin(space_.mlp_ratio, ","), "] layers=[",
                      absl::StrJoin(space_.layers, ","), "] context=", space_.context, " (",
                      WeightStorageName(options_.storage), ")");
}

}  // namespace pipebench
