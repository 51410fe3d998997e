// Weight-entangled architecture search over a GPT space.
//
//   bazel run //:search -- --space=configs/nas/char_gpt.json --optimizer=drnas --steps=2000
//   bazel run //:search -- --space=configs/nas/tiny.json --data=synthetic --optimizer=spos
//   bazel run //:search -- --preset=tanglenas --optimizer=random --retrain_steps=1000
//
// Writes one JSON line per supernet step (weight and architecture losses, alpha distributions for
// any-time curves) and a closing line {"search": ...} with each derived architecture, its
// parameter count, any-time curve and validation losses (search_and_evaluate.h). With
// --models_dir, each derived network is also written as an engine model file that trains under
// any schedule:
//
//   bazel run //:search -- --optimizer=gdas --models_dir=/tmp/derived
//   bazel run //:train -- --model=/tmp/derived/gdas.json --schedule=paci --stages=2
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/model/dataset.h"
#include "engine/platform/blas_info.h"
#include "engine/util/file_io.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nas/pipeline/pipeline_search.h"
#include "nas/search/search_and_evaluate.h"

ABSL_FLAG(std::string, space, "configs/nas/char_gpt.json", "Search-space config (JSON).");
ABSL_FLAG(std::string, optimizer, "drnas",
          "darts, darts_sparsemax, drnas, gdas, spos, or random (the random-architecture "
          "baseline: sampled networks trained for the same budget).");
ABSL_FLAG(std::string, preset, "pipebench",
          "Optimisation settings: configs/nas/presets/<name>.json (pipebench, tanglenas).");
ABSL_FLAG(std::string, storage, "entangled",
          "entangled (TangleNAS) or separate (weight sharing: one weight per choice).");
ABSL_FLAG(std::string, attention, "exact",
          "exact (every width x head-count pair on its own) or reference (TangleNAS's released "
          "mixing: superposed weights, one attention per head count).");
ABSL_FLAG(int, steps, 200, "Search steps (one architecture and one weight update each).");
ABSL_FLAG(int, batch_size, 8, "Sequences per step.");
ABSL_FLAG(uint64_t, seed, 0, "Seed for the supernet, alpha, sampling and data order.");
ABSL_FLAG(double, train_portion, 0.5, "Training-split share for weights; the rest trains alpha.");
ABSL_FLAG(std::string, data, "tinyshakespeare",
          "'tinyshakespeare' (the file the build fetches, checksummed), 'synthetic', or a text file.");
ABSL_FLAG(std::string, out, "", "Write the JSON lines here instead of standard output.");
ABSL_FLAG(std::string, models_dir, "",
          "Write each derived architecture as an engine model file <dir>/<method>.json "
          "(for --model= of train and launch); the folder is created.");
ABSL_FLAG(int, retrain_steps, 0,
          "Retrain each derived network for this many steps and report its validation loss "
          "(0: only the loss with inherited weights).");
ABSL_FLAG(std::string, schedule, "",
          "Search inside the pipeline under this registered schedule (the supernet cut into "
          "--stages stages by measured time, bi-level, on the simulated clock); empty: the "
          "single-process search.");
ABSL_FLAG(int, stages, 2, "Pipeline stages (with --schedule).");
ABSL_FLAG(int, microbatches, 4, "Micro-batches per mini-batch (with --schedule).");
ABSL_FLAG(int, accumulation, 0, "PACI's a, backwards per update (with --schedule; 0: m).");
ABSL_FLAG(int, chunks, 1, "Model stages per rank, interleaved schedules (with --schedule).");
ABSL_FLAG(int, micro_batch_size, 4, "Sequences per micro-batch (with --schedule).");
ABSL_FLAG(double, gdas_temperature, 1.0,
          "GDAS's Gumbel-softmax temperature, fixed for a pipelined search.");
ABSL_FLAG(std::string, retrain_from, "inherited,scratch",
          "How to retrain: 'inherited' (fine-tune the supernet's weights), 'scratch' (a fresh "
          "network), or both, comma-separated.");

namespace pipebench {
namespace {

// --schedule: the search inside the pipeline (nas/pipeline/pipeline_search.h).
absl::Status RunInPipeline(const SearchSpace& space, const TokenDataset& data,
                           const SearchJob& job, std::ostream& out) {
  const SearchOptions& search = job.search;
  if (!search.method) {
    return absl::InvalidArgumentError(
        "--optimizer=random trains no supernet; a pipelined search needs a gradient method or "
        "spos");
  }
  PipelineSearchJob pipelined;
  pipelined.retrain_steps = job.retrain_steps;
  pipelined.retrain = job.retrain;
  PipelineSearchOptions& options = pipelined.search;
  options.sampler = *search.method;
  options.schedule = absl::GetFlag(FLAGS_schedule);
  options.stages = absl::GetFlag(FLAGS_stages);
  options.microbatches = absl::GetFlag(FLAGS_microbatches);
  options.accumulation = absl::GetFlag(FLAGS_accumulation);
  options.chunks = absl::GetFlag(FLAGS_chunks);
  options.micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
  options.steps = search.steps;
  options.seed = search.seed;
  options.train_portion = search.train_portion;
  options.preset = search.preset;
  options.storage = search.storage;
  options.gdas_temperature = absl::GetFlag(FLAGS_gdas_temperature);
  PB_ASSIGN_OR_RETURN(const nlohmann::json record,
                      PipelineSearchAndEvaluate(space, data, pipelined));
  out << nlohmann::json{{"pipeline_search", record}}.dump() << "\n";
  if (const std::string dir = absl::GetFlag(FLAGS_models_dir); !dir.empty()) {
    PB_RETURN_IF_ERROR(WriteDerivedModels(record, ResolveOutputPath(dir)));
  }
  return absl::OkStatus();
}

// --out's file, when there is one, must hold every record (RunMain checks standard output).
absl::Status CloseOut(std::ofstream& file) {
  if (!file.is_open()) return absl::OkStatus();
  return CloseWritten(file, ResolveOutputPath(absl::GetFlag(FLAGS_out)), "--out");
}

absl::Status Run() {
  (void)WarnIfSlowBlas();
  SearchJob job;
  SearchOptions& options = job.search;
  PB_ASSIGN_OR_RETURN(options.method, ParseSearchMethod(absl::GetFlag(FLAGS_optimizer)));
  PB_ASSIGN_OR_RETURN(options.preset, LoadNasPreset(absl::GetFlag(FLAGS_preset)));
  PB_ASSIGN_OR_RETURN(options.storage, ParseWeightStorage(absl::GetFlag(FLAGS_storage)));
  PB_ASSIGN_OR_RETURN(options.attention, ParseAttentionMode(absl::GetFlag(FLAGS_attention)));
  absl::StatusOr<EvaluationPlan> plan = ParseEvaluationPlan(
      absl::StrSplit(absl::GetFlag(FLAGS_retrain_from), ',', absl::SkipEmpty()));
  if (!plan.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--retrain_from: ", plan.status().message()));
  }
  job.retrain = *plan;
  PB_ASSIGN_OR_RETURN(TokenDataset data, LoadTokenData(absl::GetFlag(FLAGS_data)));
  PB_ASSIGN_OR_RETURN(SearchSpace space,
                      LoadSearchSpace(absl::GetFlag(FLAGS_space), data.vocab_size(), "--space"));
  options.steps = absl::GetFlag(FLAGS_steps);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.train_portion = absl::GetFlag(FLAGS_train_portion);
  job.retrain_steps = absl::GetFlag(FLAGS_retrain_steps);

  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) {
    file.open(ResolveOutputPath(absl::GetFlag(FLAGS_out)));
    if (!file) return absl::NotFoundError("cannot write --out " + absl::GetFlag(FLAGS_out));
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  if (!absl::GetFlag(FLAGS_schedule).empty()) {
    PB_RETURN_IF_ERROR(RunInPipeline(space, data, job, out));
    return CloseOut(file);
  }
  PB_ASSIGN_OR_RETURN(nlohmann::json record,
                      SearchAndEvaluate(space, data, job, [&](const SearchStep& s) {
                        out << nlohmann::json{{"step", s.step},
                                              {"weight_loss", s.weight_loss},
                                              {"arch_loss", s.arch_loss},
                                              {"alpha", s.alpha_distributions}}
                                   .dump()
                            << "\n";
                      }));
  out << nlohmann::json{{"search", record}}.dump() << "\n";
  if (const std::string dir = absl::GetFlag(FLAGS_models_dir); !dir.empty()) {
    PB_RETURN_IF_ERROR(WriteDerivedModels(record, ResolveOutputPath(dir)));
  }
  return CloseOut(file);
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "search", "Searches a weight-entangled GPT space.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
