#include "nas/search/retrain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

#include "engine/exec/optimizer.h"

namespace pipebench {
namespace {

double BatchLoss(const GptNetwork& model, const TokenBatch& batch) {
  const torch::Tensor logits = model.Forward(batch.inputs);
  return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                   batch.targets.reshape({-1}))
      .item<double>();
}

}  // namespace

double DerivedValidationLoss(const GptNetwork& model, const TokenDataset& data, int context,
                             int batch_size, int batches, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    total += BatchLoss(model, data.ValidationBatch(batch_size, context, seed, i));
  }
  return total / std::max(1, batches);
}

double UnigramValidationLoss(const TokenDataset& data, int context, int batch_size, int batches,
                             std::uint64_t seed) {
  torch::Tensor counts = torch::ones({data.vocab_size()}, torch::kDouble);
  for (int i = 0; i < 256; ++i) {
    const TokenBatch batch = data.TrainBatch(batch_size, context, seed + 1, i);
    counts += torch::bincount(batch.targets.reshape({-1}), {}, data.vocab_size()).to(torch::kDouble);
  }
  const torch::Tensor log_probability = (counts / counts.sum()).log();
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    const TokenBatch batch = data.ValidationBatch(batch_size, context, seed, i);
    total -= log_probability.index_select(0, batch.targets.reshape({-1})).mean().item<double>();
  }
  return total / std::max(1, batches);
}

double DerivedSelectionLoss(const GptNetwork& model, const TokenDataset& data, int context,
                            int batch_size, int batches, double portion, std::uint64_t seed,
                            std::int64_t first_index) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    total += BatchLoss(model, data.TrainPartBatch(portion, /*second_part=*/true, batch_size,
                                                  context, seed, first_index + i));
  }
  return total / std::max(1, batches);
}

void TrainNetwork(GptNetwork& model, const TokenDataset& data, int context,
                  const RetrainOptions& options) {
  const std::vector<torch::Tensor> params = model.weights;
  OptimizerConfig config = options.optimizer.config;
  config.total_steps = options.steps;
  AdamW optimizer(config, DecayMatricesOnly(params));
  std::vector<torch::Tensor> data_views;
  for (const torch::Tensor& p : params) data_views.push_back(p.data());
  for (int step = 0; step < options.steps; ++step) {
    const TokenBatch batch =
        options.train_portion < 1.0
            ? data.TrainPartBatch(options.train_portion, /*second_part=*/false,
                                  options.batch_size, context, options.seed, step)
            : data.TrainBatch(options.batch_size, context, options.seed, step);
    // Dropout masks from (seed, step): a retraining is reproducible whatever ran before it.
    const torch::Tensor logits =
        model.Forward(batch.inputs, (options.seed << 32) + static_cast<std::uint64_t>(step));
    const torch::Tensor loss = torch::cross_entropy_loss(
        logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}));
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, params);
    if (options.optimizer.gradient_clip > 0) {
      ClipGradientNorm(grads, options.optimizer.gradient_clip);
    }
    optimizer.Step(data_views, grads, LearningRate(config, step));
  }
}

GptNetwork FreshNetwork(const SearchSpace& space, const Architecture& arch,
                        const SupernetOptions& options, std::uint64_t seed) {
  return InitNetwork(DerivedConfig(space, arch, options), seed);
}

absl::StatusOr<EvaluationPlan> ParseEvaluationPlan(const std::vector<std::string>& ways) {
  EvaluationPlan plan;
  for (const std::string& way : ways) {
    if (way == "inherited") {
      plan.finetune = true;
    } else if (way == "scratch") {
      plan.scratch = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("'", way, "' is neither 'inherited' nor 'scratch'"));
    }
  }
  return plan;
}

absl::StatusOr<DerivedEvaluation> EvaluateDerived(const SearchSpace& space,
                                                  const Architecture& arch,
                                                  const GptNetwork& inherited,
                                                  const SupernetOptions& network,
                                                  const TokenDataset& data,
                                                  const RetrainOptions& options,
                                                  const EvaluationPlan& plan) {
  const int context = static_cast<int>(space.context);
  DerivedEvaluation evaluation;
  evaluation.val_loss_inherited = DerivedValidationLoss(
      inherited, data, context, options.batch_size, options.validation_batches, options.seed);
  auto trained_loss = [&](GptNetwork& model) {
    TrainNetwork(model, data, context, options);
    return DerivedValidationLoss(model, data, context, options.batch_size,
                                 options.validation_batches, options.seed);
  };
  if (plan.finetune) {
    GptNetwork copy = inherited.Clone();
    evaluation.val_loss_finetuned = trained_loss(copy);
  }
  if (plan.scratch) {
    // Its own initialisation stream, so it does not depend on the supernet's seed stream.
    GptNetwork fresh = FreshNetwork(space, arch, network, options.seed * 1000003 + 17);
    evaluation.val_loss_scratch = trained_loss(fresh);
  }
  return evaluation;
}

}  // namespace pipebench
