// Retraining (fine-tuning from inherited weights) of a derived architecture, and its validation
// loss: the number the search is judged by.
#ifndef PIPEBENCH_NAS_SEARCH_RETRAIN_H_
#define PIPEBENCH_NAS_SEARCH_RETRAIN_H_

#include <cstdint>
#include <optional>

#include "engine/model/dataset.h"
#include "nas/entangled/supernet.h"

namespace pipebench {

struct RetrainOptions {
  int steps = 200;
  int batch_size = 8;
  double learning_rate = 1e-3;
  std::uint64_t seed = 0;
  int validation_batches = 8;
};

// Mean next-token loss of `model` over `batches` validation batches of `context` tokens.
double DerivedValidationLoss(const DerivedGpt& model, const TokenDataset& data, int context,
                             int batch_size, int batches, std::uint64_t seed);

// Fine-tunes `model` in place with AdamW (warmup, cosine) on the training split; returns the
// validation loss afterwards.
double Retrain(DerivedGpt& model, const TokenDataset& data, int context,
               const RetrainOptions& options);

// How a search's derived architecture is judged, the same way by the search CLI and the harness:
// its validation loss with the weights it inherited from the supernet, then (when `options.steps`
// > 0) after retraining them.
struct DerivedEvaluation {
  double val_loss_inherited = 0;
  std::optional<double> val_loss_retrained;
};
DerivedEvaluation EvaluateDerived(DerivedGpt& model, const TokenDataset& data, int context,
                                  const RetrainOptions& options);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_RETRAIN_H_
