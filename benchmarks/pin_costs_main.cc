// Measures a model's per-stage costs once and pins them in a cost file (configs/costs/), so the
// simulated studies that name the file give the same tables on every machine:
//
//   bazel run //:pin_costs -- --model=layers=16,embed=64,heads=4,mlp_ratio=4,context=32 \
//       --micro_batch_size=8 --cuts=4,8,16 --out=configs/costs/char_gpt_l16_e64_mb8.json
//
// The file records the command, commit, machine and libraries that made it, and each cut's noise
// (spread over the repeats); the tool says which cut's whole-model compute differs from the uncut
// model's by more than that noise. Run it on a quiet machine from a clean commit.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "benchmarks/harness/cost_pinning.h"
#include "benchmarks/manifest.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

ABSL_FLAG(std::string, model, "", "GPT spec, as experiment configs write it.");
ABSL_FLAG(int, micro_batch_size, 8, "Sequences per micro-batch.");
ABSL_FLAG(std::string, cuts, "", "Stage counts to measure, e.g. 4,8,16 (the whole model too).");
ABSL_FLAG(std::string, partition, "layers", "\"layers\" or \"time\" (balanced by measured time).");
ABSL_FLAG(int, repeats, 5,
          "Measurements of every cut, taken in turn; each field keeps its median.");
ABSL_FLAG(std::string, data, "tinyshakespeare", "Data whose vocabulary sizes the model.");
ABSL_FLAG(std::string, device, "cpu", "Where the stages compute.");
ABSL_FLAG(int, threads, 1, "Compute threads while measuring (harness cells run with one).");
ABSL_FLAG(std::string, description, "", "What the file is for (kept in it).");
ABSL_FLAG(std::string, out, "", "The cost file to write (configs/costs/<name>.json).");

namespace pipebench {
namespace {

absl::StatusOr<std::vector<int>> ParseCuts(const std::string& text) {
  std::vector<int> cuts;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int cut = 0;
    if (!absl::SimpleAtoi(item, &cut)) {
      return absl::InvalidArgumentError(absl::StrCat("--cuts: '", item, "' is not a number"));
    }
    cuts.push_back(cut);
  }
  return cuts;
}

std::string Command() {
  return absl::StrCat(
      "bazel run //:pin_costs -- --model=", absl::GetFlag(FLAGS_model),
      " --micro_batch_size=", absl::GetFlag(FLAGS_micro_batch_size),
      " --cuts=", absl::GetFlag(FLAGS_cuts), " --partition=", absl::GetFlag(FLAGS_partition),
      " --repeats=", absl::GetFlag(FLAGS_repeats), " --data=", absl::GetFlag(FLAGS_data),
      " --device=", absl::GetFlag(FLAGS_device), " --threads=", absl::GetFlag(FLAGS_threads),
      " --out=", absl::GetFlag(FLAGS_out));
}

absl::Status Run() {
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_out).empty()) {
    return absl::InvalidArgumentError("--model and --out are required");
  }
  PinRequest request;
  request.model = absl::GetFlag(FLAGS_model);
  request.micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
  PB_ASSIGN_OR_RETURN(request.cuts, ParseCuts(absl::GetFlag(FLAGS_cuts)));
  request.partition = absl::GetFlag(FLAGS_partition);
  request.repeats = absl::GetFlag(FLAGS_repeats);
  request.data = absl::GetFlag(FLAGS_data);
  request.device = absl::GetFlag(FLAGS_device);
  request.threads = absl::GetFlag(FLAGS_threads);
  request.description = absl::GetFlag(FLAGS_description);
  const std::string out = ResolveOutputPath(absl::GetFlag(FLAGS_out));
  PB_ASSIGN_OR_RETURN(PinnedCosts pinned, MeasurePinnedCosts(request));
  pinned.made_by = MakeManifest(WorkspaceRoot(), nlohmann::json::object());
  pinned.made_by.erase("config");
  pinned.made_by["command"] = Command();
  pinned.made_by["libraries"] = LibraryVersions();
  std::ofstream file(out);
  file << PinnedCostsToJson(pinned).dump(1) << "\n";
  if (!file.good()) return absl::InternalError(absl::StrCat("cannot write '", out, "'"));
  for (const PinnedCut& cut : pinned.cuts) {
    std::cout << absl::StrFormat(
        "cut %2d: whole-model compute %.6f s per micro-batch, spread %.1f%%\n", cut.model_stages,
        cut.compute_seconds, 100 * cut.spread);
  }
  for (const CutDisagreement& d : Disagreements(pinned)) {
    std::cout << absl::StrFormat(
        "cut %d differs from the whole model by %+.1f%%, more than the two spreads (%.1f%%)\n",
        d.model_stages, 100 * d.relative_difference, 100 * d.allowed);
  }
  std::cout << "wrote " << out << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "pin_costs",
                            "Measures a model's per-stage costs and pins them in a cost file.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
