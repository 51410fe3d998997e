#include "nas/search/retrain.h"

#include <algorithm>

#include "engine/exec/optimizer.h"

namespace pipebench {

double DerivedValidationLoss(const DerivedGpt& model, const TokenDataset& data, int context,
                             int batch_size, int batches, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    const TokenBatch batch = data.ValidationBatch(batch_size, context, seed, i);
    const torch::Tensor logits = model.Forward(batch.inputs);
    total += torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                       batch.targets.reshape({-1}))
                 .item<double>();
  }
  return total / std::max(1, batches);
}

double Retrain(DerivedGpt& model, const TokenDataset& data, int context,
               const RetrainOptions& options) {
  const std::vector<torch::Tensor> params = model.parameters();
  const OptimizerConfig config = ConfigForRun(options.learning_rate, options.steps);
  AdamW optimizer(config, DecayMatricesOnly(params));
  for (int step = 0; step < options.steps; ++step) {
    const TokenBatch batch = data.TrainBatch(options.batch_size, context, options.seed, step);
    const torch::Tensor logits = model.Forward(batch.inputs);
    const torch::Tensor loss = torch::cross_entropy_loss(
        logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}));
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, params);
    std::vector<torch::Tensor> data_views;
    for (const torch::Tensor& p : params) data_views.push_back(p.data());
    optimizer.Step(data_views, grads, LearningRate(config, step));
  }
  return DerivedValidationLoss(model, data, context, options.batch_size,
                               options.validation_batches, options.seed);
}

DerivedEvaluation EvaluateDerived(DerivedGpt& model, const TokenDataset& data, int context,
                                  const RetrainOptions& options) {
  DerivedEvaluation evaluation;
  evaluation.val_loss_inherited = DerivedValidationLoss(
      model, data, context, options.batch_size, options.validation_batches, options.seed);
  if (options.steps > 0) evaluation.val_loss_retrained = Retrain(model, data, context, options);
  return evaluation;
}

}  // namespace pipebench
