// One search and the judging of what it derived: the call the search CLI and the harness's NAS
// cells share, so both record the same thing.
#ifndef PIPEBENCH_NAS_SEARCH_SEARCH_AND_EVALUATE_H_
#define PIPEBENCH_NAS_SEARCH_SEARCH_AND_EVALUATE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "engine/model/dataset.h"
#include "nas/search/retrain.h"
#include "nas/search/search.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct SearchJob {
  SearchOptions search;
  // Each derived architecture: fine-tuned from its inherited weights and/or trained from scratch
  // for this many steps with the preset's weight settings (0: neither).
  int retrain_steps = 0;
  EvaluationPlan retrain;
  int validation_batches = 8;
};

// {"method", "space" (its choices), "unigram_val_loss" (the bar: retrain.h), "preset" (all its
//  settings), "storage", "attention", "steps", "batch_size", "supernet_parameters",
//  "retrain_steps",
//  "derived": [{"method", "architecture", "parameters", "model" (the engine model file of the
//               derived network: GptConfigToJson), "search_seconds",
//               "curve": [{"seconds", "step", "architecture", "val_loss"}],
//               "val_loss_inherited", "val_loss_finetuned", "val_loss_scratch"}]}
// (a loss that was not asked for is null).
absl::StatusOr<nlohmann::json> SearchAndEvaluate(
    const SearchSpace& space, const TokenDataset& data, const SearchJob& job,
    const std::function<void(const SearchStep&)>& on_step = {});

// OK when retrain_steps >= 0 and validation_batches >= 1 and, with retrain_steps > 0, `plan`
// names a way to retrain; else InvalidArgument saying which.
absl::Status CheckRetraining(int retrain_steps, const EvaluationPlan& plan,
                             int validation_batches);

// Sets "val_loss_inherited", "val_loss_finetuned" and "val_loss_scratch" (null when not asked
// for) in a record's derived entry.
void AddEvaluation(const DerivedEvaluation& evaluation, nlohmann::json& derived);

// Writes each derived network of a SearchAndEvaluate record as an engine model file,
// `dir`/<method>.json (the folder is created), with a description naming the search.
absl::Status WriteDerivedModels(const nlohmann::json& record, const std::string& dir);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_SEARCH_AND_EVALUATE_H_
