// A named set of optimisation settings for a search and the retraining after it, so a report can
// say which one ran. Presets live in configs/nas/presets/<name>.json:
//
//   {"description": "...",
//    "weights": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1,
//                "warmup_steps": 100, "min_lr_ratio": 0.1, "gradient_clip": 1.0},
//    "architecture": {"learning_rate": 3e-4, "beta1": 0.5, "beta2": 0.999,
//                     "weight_decay": 1e-3, "gradient_clip": 5.0},
//    "model": {"dropout": 0.2, "tied_embeddings": true},
//    "gdas_temperature": {"start": 10, "end": 0.1}}
//
// "weights" drives the supernet's AdamW (warmup, then cosine to min_lr_ratio over the run) and the
// retraining of derived networks; "architecture" drives alpha's Adam at a constant rate. A
// gradient_clip of 0 means no clipping. Every key is required: a preset states all it changes.
#ifndef PIPEBENCH_NAS_SEARCH_PRESET_H_
#define PIPEBENCH_NAS_SEARCH_PRESET_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/exec/optimizer.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct OptimizerSettings {
  OptimizerConfig config;  // total_steps is set per run
  double gradient_clip = 0;
};

// Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3, constant rate (DARTS's and TangleNAS's).
inline OptimizerSettings ArchitectureDefaults() {
  OptimizerSettings settings;
  settings.config.learning_rate = 3e-4;
  settings.config.beta1 = 0.5;
  settings.config.beta2 = 0.999;
  settings.config.weight_decay = 1e-3;
  settings.config.warmup_steps = 0;
  settings.config.min_lr_ratio = 1.0;
  return settings;
}

// Default-constructed, a preset is configs/nas/presets/pipebench.json (a test holds them equal).
struct NasPreset {
  std::string name = "pipebench";
  OptimizerSettings weights;  // OptimizerConfig's defaults, no clipping
  OptimizerSettings architecture = ArchitectureDefaults();
  double dropout = 0;
  bool tied_embeddings = false;
  double gdas_temperature_start = 10.0;
  double gdas_temperature_end = 0.1;
};

// `name` is recorded, not read; errors name the key: "preset 'x': weights.beta2: ...".
absl::StatusOr<NasPreset> ParseNasPreset(const std::string& name, const nlohmann::json& root);

// configs/nas/presets/<name>.json; NotFound names the preset and the file.
absl::StatusOr<NasPreset> LoadNasPreset(const std::string& name);

// The preset as ParseNasPreset reads it back (with "name"), for records and cell parameters.
nlohmann::json NasPresetToJson(const NasPreset& preset);
absl::StatusOr<NasPreset> NasPresetFromJson(const nlohmann::json& json);

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_PRESET_H_
