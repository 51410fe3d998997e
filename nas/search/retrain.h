// Training a derived architecture as a standalone network - from its inherited weights, or from
// scratch - and its validation loss: the numbers a search is judged by.
#ifndef PIPEBENCH_NAS_SEARCH_RETRAIN_H_
#define PIPEBENCH_NAS_SEARCH_RETRAIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/dataset.h"
#include "nas/entangled/supernet.h"
#include "nas/search/preset.h"

namespace pipebench {

struct RetrainOptions {
  int steps = 200;
  int batch_size = 8;
  std::uint64_t seed = 0;
  int validation_batches = 8;
  // AdamW per the preset's weight settings: warmup, cosine over `steps`, clipping.
  OptimizerSettings optimizer;
  // 1: the whole training split; below 1, only its first part (a search's weight part, so the
  // random baseline's candidates never see the part they are selected on).
  double train_portion = 1.0;
};

// Mean next-token loss of `model` (dropout off) over `batches` validation batches.
double DerivedValidationLoss(const GptNetwork& model, const TokenDataset& data, int context,
                             int batch_size, int batches, std::uint64_t seed);

// The loss of a unigram model (character frequencies of 256 training batches, add-one smoothed) on
// the validation batches DerivedValidationLoss reads: the bar a language model must clear.
double UnigramValidationLoss(const TokenDataset& data, int context, int batch_size, int batches,
                             std::uint64_t seed);

// Mean loss over `batches` batches of the second part of the training split cut at `portion`
// (where searches select architectures), from index `first_index`.
double DerivedSelectionLoss(const GptNetwork& model, const TokenDataset& data, int context,
                            int batch_size, int batches, double portion, std::uint64_t seed,
                            std::int64_t first_index);

// Trains `model` in place for `options.steps` (dropout on, masks drawn from the seed and step).
void TrainNetwork(GptNetwork& model, const TokenDataset& data, int context,
                  const RetrainOptions& options);

// A newly initialised network of `arch` with `options`' dropout and tying: the engine's GPT
// initialisation (InitNetwork), what `//engine:train` starts the same model from.
GptNetwork FreshNetwork(const SearchSpace& space, const Architecture& arch,
                        const SupernetOptions& options, std::uint64_t seed);

// How a derived architecture is judged, the same way by the search CLI and the harness: its
// validation loss with the weights it inherited, after fine-tuning them for `options.steps`, and
// after training a fresh network of it for as long.
struct DerivedEvaluation {
  double val_loss_inherited = 0;
  std::optional<double> val_loss_finetuned;
  std::optional<double> val_loss_scratch;
};
struct EvaluationPlan {
  bool finetune = false;
  bool scratch = false;
};
// {"inherited", "scratch"} (either or both) -> the plan; anything else is an error naming it.
absl::StatusOr<EvaluationPlan> ParseEvaluationPlan(const std::vector<std::string>& ways);
absl::StatusOr<DerivedEvaluation> EvaluateDerived(const SearchSpace& space,
                                                  const Architecture& arch,
                                                  const GptNetwork& inherited,
                                                  const SupernetOptions& network,
                                                  const TokenDataset& data,
                                                  const RetrainOptions& options,
                                                  const EvaluationPlan& plan);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_RETRAIN_H_
