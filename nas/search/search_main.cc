// Weight-entangled architecture search over a GPT space.
//
//   bazel run //:search -- --space=configs/nas/char_gpt.json --optimizer=drnas --steps=2000
//   bazel run //:search -- --space=configs/nas/tiny.json --data=synthetic --optimizer=spos
//
// Writes one JSON line per step (weight and architecture losses, alpha distributions for any-time
// curves) and a closing line with the derived architecture and its parameter count.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/model/dataset.h"
#include "engine/platform/blas_info.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nas/search/retrain.h"
#include "nas/search/search.h"

ABSL_FLAG(std::string, space, "configs/nas/char_gpt.json", "Search-space config (JSON).");
ABSL_FLAG(std::string, optimizer, "drnas", "darts, darts_sparsemax, drnas, gdas or spos.");
ABSL_FLAG(int, steps, 200, "Search steps (one architecture and one weight update each).");
ABSL_FLAG(int, batch_size, 8, "Sequences per step.");
ABSL_FLAG(uint64_t, seed, 0, "Seed for the supernet, alpha, sampling and data order.");
ABSL_FLAG(double, weight_lr, 1e-3, "Supernet AdamW learning rate.");
ABSL_FLAG(double, arch_lr, 3e-4, "Architecture Adam learning rate.");
ABSL_FLAG(double, train_portion, 0.5, "Training-split share for weights; the rest trains alpha.");
ABSL_FLAG(std::string, data, "tinyshakespeare",
          "'tinyshakespeare' (the file the build fetches, checksummed), 'synthetic', or a text file.");
ABSL_FLAG(std::string, out, "", "Write the JSON lines here instead of standard output.");
ABSL_FLAG(int, retrain_steps, 0,
          "Fine-tune the derived network from its inherited weights for this many steps and "
          "report its validation loss (0: skip).");

namespace pipebench {
namespace {

absl::Status Run() {
  (void)WarnIfSlowBlas();
  PB_ASSIGN_OR_RETURN(SamplerKind optimizer, ParseSamplerKind(absl::GetFlag(FLAGS_optimizer)));
  PB_ASSIGN_OR_RETURN(TokenDataset data, LoadTokenData(absl::GetFlag(FLAGS_data)));
  PB_ASSIGN_OR_RETURN(SearchSpace space,
                      LoadSearchSpace(absl::GetFlag(FLAGS_space), data.vocab_size(), "--space"));

  SearchOptions options;
  options.optimizer = optimizer;
  options.steps = absl::GetFlag(FLAGS_steps);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.weight_lr = absl::GetFlag(FLAGS_weight_lr);
  options.arch_lr = absl::GetFlag(FLAGS_arch_lr);
  options.train_portion = absl::GetFlag(FLAGS_train_portion);
  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) {
    file.open(ResolveOutputPath(absl::GetFlag(FLAGS_out)));
    if (!file) return absl::NotFoundError("cannot write --out " + absl::GetFlag(FLAGS_out));
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  PB_ASSIGN_OR_RETURN(SearchResult result, RunSearch(space, data, options, [&](const SearchStep& s) {
                        out << nlohmann::json{{"step", s.step},
                                              {"weight_loss", s.weight_loss},
                                              {"arch_loss", s.arch_loss},
                                              {"alpha", s.alpha_distributions}}
                                   .dump()
                            << "\n";
                      }));
  RetrainOptions retrain;
  retrain.steps = absl::GetFlag(FLAGS_retrain_steps);
  retrain.batch_size = options.batch_size;
  retrain.learning_rate = options.weight_lr;
  retrain.seed = options.seed;
  const DerivedEvaluation evaluation = EvaluateDerived(
      *result.derived_network, data, static_cast<int>(space.context), retrain);
  nlohmann::json retrained = {{"steps", retrain.steps},
                              {"val_loss_inherited", evaluation.val_loss_inherited},
                              {"val_loss_retrained", nullptr}};
  if (evaluation.val_loss_retrained) {
    retrained["val_loss_retrained"] = *evaluation.val_loss_retrained;
  }
  out << nlohmann::json{{"derived",
                         {{"optimizer", absl::GetFlag(FLAGS_optimizer)},
                          {"architecture", result.derived_json},
                          {"parameters", DerivedParameterCount(space, result.derived)},
                          {"supernet_parameters", result.supernet_parameters},
                          {"search_seconds", result.search_seconds},
                          {"spos_searches", result.spos_searches},
                          {"retraining", retrained}}}}
             .dump()
      << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "search", "Searches a weight-entangled GPT space.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
