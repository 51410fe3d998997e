#include "nas/search/preset.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

using nlohmann::json;

TEST(PresetTest, TangleNasPresetHasThePapersSettings) {
  auto preset = LoadNasPreset("tanglenas");
  ASSERT_TRUE(preset.ok()) << preset.status();
  EXPECT_EQ(preset->name, "tanglenas");
  EXPECT_EQ(preset->weights.config.warmup_steps, 100);
  EXPECT_DOUBLE_EQ(preset->weights.config.beta2, 0.99);
  EXPECT_DOUBLE_EQ(preset->weights.config.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(preset->weights.gradient_clip, 1.0);
  EXPECT_DOUBLE_EQ(preset->dropout, 0.2);
  EXPECT_TRUE(preset->tied_embeddings);
  EXPECT_DOUBLE_EQ(preset->architecture.config.learning_rate, 3e-4);
  EXPECT_DOUBLE_EQ(preset->architecture.config.beta1, 0.5);
  EXPECT_DOUBLE_EQ(preset->architecture.config.weight_decay, 1e-3);
  EXPECT_DOUBLE_EQ(preset->architecture.gradient_clip, 5.0);
  EXPECT_DOUBLE_EQ(preset->architecture.config.min_lr_ratio, 1.0);  // constant rate
  EXPECT_DOUBLE_EQ(preset->gdas_temperature_start, 10.0);
  EXPECT_DOUBLE_EQ(preset->gdas_temperature_end, 0.1);
}

TEST(PresetTest, TheDefaultPresetIsThePipebenchFile) {
  auto file = LoadNasPreset("pipebench");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(NasPresetToJson(*file), NasPresetToJson(NasPreset()));
}

TEST(PresetTest, RecordedPresetReadsBackUnchanged) {
  auto preset = LoadNasPreset("tanglenas");
  ASSERT_TRUE(preset.ok());
  const json recorded = NasPresetToJson(*preset);
  auto back = NasPresetFromJson(recorded);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(NasPresetToJson(*back), recorded);
}

TEST(PresetTest, ErrorsNameThePresetAndTheField) {
  EXPECT_EQ(LoadNasPreset("nope").status().message(),
            "no NAS preset 'nope' (looked for configs/nas/presets/nope.json)");
  EXPECT_FALSE(LoadNasPreset("../secrets").ok());
  json preset = NasPresetToJson(NasPreset());
  preset["weights"]["beta2"] = 1.5;
  EXPECT_EQ(ParseNasPreset("x", preset).status().message(),
            "preset 'x': weights.beta2 must be in [0, 0.999999], got 1.5");
  preset = NasPresetToJson(NasPreset());
  preset["architecture"].erase("gradient_clip");
  EXPECT_EQ(ParseNasPreset("x", preset).status().message(),
            "preset 'x': architecture.gradient_clip is missing");
  preset = NasPresetToJson(NasPreset());
  preset["architecture"]["warmup_steps"] = 5;  // alpha's rate is constant
  EXPECT_EQ(ParseNasPreset("x", preset).status().message(),
            "preset 'x': architecture.warmup_steps is not a preset key");
  preset = NasPresetToJson(NasPreset());
  preset["model"]["tied_embeddings"] = "yes";
  EXPECT_EQ(ParseNasPreset("x", preset).status().message(),
            "preset 'x': model.tied_embeddings must be true or false");
}

}  // namespace
}  // namespace pipebench
