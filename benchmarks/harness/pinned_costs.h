// A pinned cost file (configs/costs/*.json): one model's per-stage costs, measured once on one
// machine for every cut into stages that the experiments using it need, so their simulated tables
// are the same on every machine. `bazel run //:pin_costs` writes it and records how:
//
//   {"description": "...",
//    "model": "layers=16,embed=64,heads=4,mlp_ratio=4,context=32", "micro_batch_size": 8,
//    "partition": "layers", "repeats": 5,
//    "made_by": {"command": "...", "git_commit": "...", "cpu_model": "...", ...},
//    "cuts": [{"model_stages": 1, "compute_seconds": 0.051, "spread": 0.02, "costs": {...}},
//             {"model_stages": 4, ...}, ...]}
//
// Each cut's costs are the per-field medians over `repeats` measurements taken in turn with the
// other cuts' (a slow spell hits every cut alike); `compute_seconds` is the whole model's forward
// and backward per micro-batch under that cut and `spread` its (max - min) / median over the
// repeats: the measurement's own noise. Cut 1 is the whole model, uncut.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_PINNED_COSTS_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_PINNED_COSTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/sim/cost_model.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct PinnedCut {
  int model_stages = 1;
  double compute_seconds = 0;
  double spread = 0;
  CostModel costs;
};

struct PinnedCosts {
  std::string description;
  std::string model;  // the GPT spec, as experiment configs write it
  int micro_batch_size = 0;
  std::string partition = "layers";  // or "time"
  int repeats = 0;
  nlohmann::json made_by = nlohmann::json::object();  // command, commit, machine, libraries, date
  std::vector<PinnedCut> cuts;                        // by model_stages, ascending

  // The cut into `model_stages` stages, or nullptr.
  const PinnedCut* Cut(int model_stages) const;
};

// A cut whose whole-model compute differs from the uncut model's by more than the two
// measurements' spreads together.
struct CutDisagreement {
  int model_stages = 0;
  double relative_difference = 0;  // (cut - whole) / whole
  double allowed = 0;              // the two spreads, summed
};

// Every cut that disagrees with cut 1 (empty when the file has no cut 1).
std::vector<CutDisagreement> Disagreements(const PinnedCosts& pinned);

// Parses and checks a pinned cost file (every field, cuts unique and each cost model valid for
// its cut); errors name the field ("cuts[2].costs: ...").
absl::StatusOr<PinnedCosts> ParsePinnedCosts(const nlohmann::json& file);
absl::StatusOr<PinnedCosts> LoadPinnedCosts(const std::string& path);
// The inverse of ParsePinnedCosts.
nlohmann::json PinnedCostsToJson(const PinnedCosts& pinned);

// Whether `file` is a pinned cost file (it has cuts) rather than a single cost model.
bool IsPinnedCostsJson(const nlohmann::json& file);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_PINNED_COSTS_H_
