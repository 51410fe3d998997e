#include "benchmarks/harness/experiment_config.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = R"({
  // Comments are allowed.
  "experiment": "demo",
  "description": "two studies",
  "seeds": [0, 1],
  "studies": [
    {"name": "throughput", "kind": "pipeline",
     "schedules": ["1f1b_flush", {"name": "paci", "accumulation": ["p", "2p"]}],
     "stages": [2, 4], "microbatches_per_stage": [1, 2], "backends": ["sim", "executor"],
     "model": "layers=4,embed=32,heads=2,context=16"},
    {"name": "tta", "kind": "training", "schedules": ["gpipe"], "stages": [2],
     "microbatches": [4], "steps": 10, "model": "layers=4,embed=32,heads=2,context=16"}
  ]})";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ExperimentConfigTest, ExpandsTheMatrixWithSharedCostsCellsFirst) {
  auto config = ParseExperimentConfig(kConfig);
  ASSERT_TRUE(config.ok()) << config.status();
  std::map<std::string, int> kinds;
  for (const Cell& cell : config->cells) ++kinds[cell.kind];
  // Schedule variants: flush + paci x {p, 2p} = 3; x p {2,4} x m {p, 2p} = 12 per backend.
  EXPECT_EQ(kinds["sim"], 12);
  EXPECT_EQ(kinds["executor"], 24);  // x 2 seeds
  EXPECT_EQ(kinds["training"], 2);
  // One costs cell per (model, model stages, micro-batch size): p = 2 and p = 4; the training
  // study's p = 2 cells share the first, so every schedule is timed by the same measurement.
  EXPECT_EQ(kinds["costs"], 2);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(config->cells[i].kind, "costs");
  std::map<std::string, int> keys;
  for (const Cell& cell : config->cells) {
    ++keys[cell.key];
    if (cell.kind != "costs" && cell.kind != "nas") {
      EXPECT_FALSE(cell.costs_key.empty()) << cell.key;
    }
  }
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key;
  const Cell& paci = *std::find_if(config->cells.begin(), config->cells.end(), [](const Cell& c) {
    return c.params.value("variant", "") == "paci a=2p" && c.params["stages"] == 4 &&
           c.params["microbatches"] == 8;
  });
  EXPECT_EQ(paci.params["accumulation"], 8);
}

TEST(ExperimentConfigTest, ModelSizesAreAnAxis) {
  auto config = ParseExperimentConfig(
      Replace(kConfig, "\"model\": \"layers=4,embed=32,heads=2,context=16\"},",
              "\"model\": [\"layers=4,embed=32,heads=2,context=16\", "
              "\"layers=4,embed=64,heads=2,context=16\"]},"));
  ASSERT_TRUE(config.ok()) << config.status();
  std::map<std::string, int> sims_per_model;
  int costs = 0;
  for (const Cell& cell : config->cells) {
    if (cell.kind == "sim") ++sims_per_model[cell.params["model"].get<std::string>()];
    if (cell.kind == "costs") ++costs;
  }
  EXPECT_EQ(sims_per_model.size(), 2u);
  for (const auto& [model, count] : sims_per_model) EXPECT_EQ(count, 12) << model;
  EXPECT_EQ(costs, 4);  // p = 2 and 4 for each width
  auto bad = ParseExperimentConfig(Replace(
      kConfig, "\"model\": \"layers=4,embed=32,heads=2,context=16\"},",
      "\"model\": [\"layers=4\", 7]},"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("studies[0].model[1]: expected a string"));
}

TEST(ExperimentConfigTest, ErrorsNameTheField) {
  auto expect_error = [](const std::string& text, const std::string& message) {
    auto config = ParseExperimentConfig(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(message));
  };
  expect_error(Replace(kConfig, "\"seeds\"", "\"sedes\""), "sedes: unknown key");
  expect_error(Replace(kConfig, "[2, 4]", "[2, \"4\"]"),
               "studies[0].stages[1]: expected an integer >= 1, got \"4\"");
  expect_error(Replace(kConfig, "\"1f1b_flush\"", "\"1f1b_flsh\""),
               "studies[0].schedules[0]: unknown schedule '1f1b_flsh'");
  expect_error(Replace(kConfig, "\"1f1b_flush\"", "\"1f1b_flush+momentum\""),
               "studies[0].schedules[0]: unknown schedule '1f1b_flush+momentum'; known "
               "schedules: ");
  expect_error(Replace(kConfig, "\"2p\"", "\"p/8\""), "accumulation 'p/8' is 0 at p=2");
  expect_error(Replace(kConfig, "\"kind\": \"training\"", "\"kind\": \"trainig\""),
               "studies[1].kind: 'trainig' is not one of");
  expect_error(Replace(kConfig, "[2, 4], \"micro", "[2, 8], \"micro"),
               "8 model stages (p=8, v=1) but model");
  expect_error(Replace(kConfig, "\"steps\": 10,", ""),
               "studies[1]: give exactly one of steps (every schedule trains as many");
  expect_error(Replace(kConfig, "\"steps\": 10,", "\"steps\": 10, \"budget_seconds\": 5,"),
               "studies[1]: give exactly one of steps");
  expect_error(Replace(kConfig, "\"steps\": 10,",
                       "\"budget_flush_steps\": 10, \"budget_seconds\": 5,"),
               "studies[1]: give exactly one of steps");
  expect_error(Replace(kConfig, "\"steps\": 10,", "\"budget_seconds\": 0,"),
               "studies[1].budget_seconds: expected a number of simulated seconds > 0");
  expect_error(Replace(kConfig, "\"steps\": 10,", "\"steps\": 10, \"target\": \"papr\","),
               "studies[1].target: expected \"paper\"");
  expect_error(Replace(kConfig, "\"steps\": 10,",
                       "\"steps\": 10, \"target\": {\"flush_fraction\": 2},"),
               "studies[1].target: expected");
  expect_error(Replace(kConfig, "\"steps\": 10,",
                       "\"steps\": 10, \"convergence_fractions\": [0.5, 1.5],"),
               "studies[1].convergence_fractions[1]: expected a fraction of 1F1B-flush's run, "
               "0 < f <= 1, got 1.5");
  expect_error(Replace(kConfig, "\"steps\": 10,",
                       "\"budget_seconds\": 5, \"convergence_fractions\": [0.5],"),
               "studies[1].convergence_fractions: needs runs of equal steps");
  expect_error(Replace(kConfig, "\"steps\": 10,", "\"steps\": 10, \"partition\": \"flops\","),
               "studies[1].partition: expected \"layers\"");
  expect_error(Replace(kConfig, "\"steps\": 10,", "\"steps\": 10, \"eval_tokens\": 0,"),
               "studies[1].eval_tokens: expected an integer >= 1");
  expect_error(Replace(kConfig, "\"microbatches\": [4],", ""),
               "give exactly one of microbatches, microbatches_per_stage");
  expect_error(Replace(kConfig, "\"name\": \"tta\"", "\"name\": \"throughput\""), "used twice");
  expect_error("{\"experiment\": ", "not valid JSON");
  expect_error(Replace(kConfig, "\"demo\"", "\"../demo\""), "experiment: must be");
}

// A GPU experiment's cells that compute or time stages carry the device, so their keys (and
// resumed results) never mix with a CPU run's; a CPU experiment's carry none, keeping the keys
// every committed run was made with.
TEST(ExperimentConfigTest, TheDeviceGoesIntoEveryCellThatComputesOnIt) {
  auto on_cpu = ParseExperimentConfig(kConfig);
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
  for (const Cell& cell : on_cpu->cells) EXPECT_FALSE(cell.params.contains("device")) << cell.key;
  auto explicit_cpu = ParseExperimentConfig(
      Replace(kConfig, "\"seeds\"", "\"device\": \"cpu\", \"seeds\""));
  ASSERT_TRUE(explicit_cpu.ok()) << explicit_cpu.status();
  ASSERT_EQ(explicit_cpu->cells.size(), on_cpu->cells.size());
  for (size_t i = 0; i < on_cpu->cells.size(); ++i) {
    EXPECT_EQ(explicit_cpu->cells[i].key, on_cpu->cells[i].key);
  }
  auto on_gpu = ParseExperimentConfig(
      Replace(kConfig, "\"seeds\"", "\"device\": \"cuda:1\", \"seeds\""));
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();
  ASSERT_EQ(on_gpu->cells.size(), on_cpu->cells.size());
  std::map<std::string, int> with_device;
  for (const Cell& cell : on_gpu->cells) {
    if (cell.params.contains("device")) {
      EXPECT_EQ(cell.params["device"], "cuda:1") << cell.key;
      ++with_device[cell.kind];
    }
  }
  // Simulations read their costs cell's (GPU-measured) costs and compute nothing themselves.
  EXPECT_EQ(with_device, (std::map<std::string, int>{
                             {"costs", 2}, {"executor", 24}, {"training", 2}}));
}

TEST(ExperimentConfigTest, AnUnknownDeviceOrANasStudyOffTheCpuIsRefused) {
  auto bad =
      ParseExperimentConfig(Replace(kConfig, "\"seeds\"", "\"device\": \"gpu\", \"seeds\""));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("device: device must be cpu, cuda"));
  auto nas = ParseExperimentConfig(R"({"experiment": "x", "description": "", "device": "cuda",
    "studies": [{"name": "n", "kind": "nas", "space": "configs/nas/tiny.json",
       "optimizers": ["darts"], "storages": ["we"], "steps": 2}]})");
  ASSERT_FALSE(nas.ok());
  EXPECT_THAT(std::string(nas.status().message()),
              HasSubstr("studies[0].kind: nas studies run on the CPU only"));
}

TEST(ExperimentConfigTest, ATrainingStudyMayGiveASimulatedTimeBudgetInsteadOfSteps) {
  auto config = ParseExperimentConfig(
      Replace(kConfig, "\"steps\": 10,", "\"budget_seconds\": 30, \"target\": 2.5,"));
  ASSERT_TRUE(config.ok()) << config.status();
  int training = 0;
  for (const Cell& cell : config->cells) {
    if (cell.kind != kTrainingCell) continue;
    ++training;
    EXPECT_EQ(cell.params["budget_seconds"], 30.0);
    EXPECT_FALSE(cell.params.contains("steps"));
  }
  EXPECT_EQ(training, 2);  // two seeds
}

// Two studies asking for the same runs get a cell each (their reports would otherwise share one
// record), while the model's cost measurement stays shared.
TEST(ExperimentConfigTest, IdenticalStudiesKeepTheirOwnCellsAndShareCosts) {
  const std::string tta =
      R"({"name": "tta", "kind": "training", "schedules": ["gpipe"], "stages": [2],
     "microbatches": [4], "steps": 10, "model": "layers=4,embed=32,heads=2,context=16"})";
  auto config = ParseExperimentConfig(absl::StrCat(
      R"({"experiment": "x", "description": "", "studies": [)", tta, ",",
      Replace(tta, "\"tta\"", "\"again\""), "]}"));
  ASSERT_TRUE(config.ok()) << config.status();
  std::map<std::string, int> kinds;
  std::set<std::string> keys;
  for (const Cell& cell : config->cells) {
    ++kinds[cell.kind];
    keys.insert(cell.key);
  }
  EXPECT_EQ(kinds[kTrainingCell], 2);
  EXPECT_EQ(kinds[kCostsCell], 1);
  EXPECT_EQ(keys.size(), config->cells.size());
}

TEST(ExperimentConfigTest, RepeatedDistributedRunsInterleaveTheSchedules) {
  auto config = ParseExperimentConfig(R"({"experiment": "r", "description": "d", "seeds": [0, 1],
    "studies": [
    {"name": "runtime", "kind": "pipeline", "schedules": ["1f1b_flush", "paci"], "stages": [2],
     "microbatches": [2], "steps": 2, "repeats": 2, "backends": ["executor", "distributed"],
     "model": "layers=2,embed=16,heads=2,context=8"}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<std::string> order;
  int executor = 0;
  for (const Cell& cell : config->cells) {
    if (cell.kind == kExecutorCell) ++executor;
    if (cell.kind != kDistributedCell) continue;
    order.push_back(absl::StrCat(cell.params["schedule"].get<std::string>(), " r",
                                 cell.params["repeat"].get<int>(), " s",
                                 cell.params["seed"].get<int>()));
  }
  EXPECT_EQ(executor, 4);  // repeats are for measured wall-clock across processes only
  // The two runs a ratio pairs (same repeat and seed) next to each other.
  EXPECT_EQ(order, (std::vector<std::string>{"1f1b_flush r0 s0", "paci r0 s0", "1f1b_flush r0 s1",
                                             "paci r0 s1", "1f1b_flush r1 s0", "paci r1 s0",
                                             "1f1b_flush r1 s1", "paci r1 s1"}));
}

TEST(ExperimentConfigTest, AccumulationExpressions) {
  EXPECT_EQ(*EvaluateAccumulation("p", 4, 8), 4);
  EXPECT_EQ(*EvaluateAccumulation("2p", 4, 8), 8);
  EXPECT_EQ(*EvaluateAccumulation("p/2", 4, 8), 2);
  EXPECT_EQ(*EvaluateAccumulation("m", 4, 8), 8);
  EXPECT_EQ(*EvaluateAccumulation(3, 4, 8), 3);
  EXPECT_FALSE(EvaluateAccumulation("q", 4, 8).ok());
  EXPECT_FALSE(EvaluateAccumulation(1.5, 4, 8).ok());
}

constexpr char kPipelinedNas[] = R"({
  "experiment": "nas_in_pipelines", "description": "d", "seeds": [0, 1],
  "studies": [{"name": "search", "kind": "nas", "space": "configs/nas/tiny.json",
               "optimizers": ["drnas", "gdas"], "steps": 3, "batch_size": 8,
               "pipelines": [{"schedule": "1f1b_flush", "stages": 1, "microbatches": 2},
                             {"schedule": "1f1b_flush", "stages": 2, "microbatches": 4},
                             {"schedule": "paci", "stages": 2, "microbatches": 4,
                              "accumulation": "p"}]}]})";

// Optimizers x pipelines x seeds, each pipeline's costs measured once per optimizer and model
// stages and shared by the schedules and seeds on them.
TEST(ExperimentConfigTest, NasInPipelinesSharesStageCostsAcrossSchedules) {
  auto config = ParseExperimentConfig(kPipelinedNas);
  ASSERT_TRUE(config.ok()) << config.status();
  std::map<std::string, int> kinds;
  std::map<std::string, std::set<std::string>> schedules_per_costs;
  for (const Cell& cell : config->cells) {
    ++kinds[cell.kind];
    if (cell.kind != "nas_pipeline") continue;
    EXPECT_EQ(cell.params["micro_batch_size"].get<int>() * cell.params["microbatches"].get<int>(),
              8);
    schedules_per_costs[cell.costs_key].insert(cell.params["schedule"].get<std::string>());
    if (cell.params["schedule"] == "paci") {
      EXPECT_EQ(cell.params["accumulation"], 2);
    }
  }
  EXPECT_EQ(kinds["nas_pipeline"], 2 * 3 * 2);
  EXPECT_EQ(kinds["nas_pipeline_costs"], 2 * 2);  // (drnas, gdas) x (1, 2 model stages)
  ASSERT_EQ(schedules_per_costs.size(), 4u);
  for (const auto& [key, schedules] : schedules_per_costs) {
    EXPECT_TRUE(schedules.size() == 1 || schedules == std::set<std::string>({"1f1b_flush",
                                                                             "paci"}))
        << key;
  }
}

// Costs are shared only where the supernet's stages and micro-batch size are the same.
TEST(ExperimentConfigTest, NasInPipelinesMeasuresEachMicroBatchSizeAndChunkingApart) {
  auto config = ParseExperimentConfig(R"({
    "experiment": "x", "description": "d", "seeds": [0],
    "studies": [{"name": "s", "kind": "nas", "space": "configs/nas/tiny.json",
                 "optimizers": ["drnas"], "steps": 3, "batch_size": 8,
                 "pipelines": [{"schedule": "1f1b_flush", "stages": 2, "microbatches": 4},
                               {"schedule": "paci", "stages": 2, "microbatches": 4},
                               {"schedule": "1f1b_flush", "stages": 2, "microbatches": 2},
                               {"schedule": "interleaved_1f1b", "stages": 2,
                                "microbatches": 4, "chunks": 2}]}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<std::string> costs_keys;
  for (const Cell& cell : config->cells) {
    if (cell.kind == "nas_pipeline") costs_keys.push_back(cell.costs_key);
  }
  ASSERT_EQ(costs_keys.size(), 4u);
  EXPECT_EQ(costs_keys[0], costs_keys[1]) << "flush and PACI at p=2, m=4 share costs";
  EXPECT_NE(costs_keys[0], costs_keys[2]) << "another micro-batch size is measured apart";
  EXPECT_NE(costs_keys[0], costs_keys[3]) << "four model stages are measured apart";
  EXPECT_EQ(config->cells.back().params["chunks"], 2);
}

TEST(ExperimentConfigTest, NasInPipelinesRefusesWhatItCannotRun) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\"optimizers\": [\"drnas\", \"gdas\"]", "\"optimizers\": [\"spos\"]"},
      {"\"stages\": 1, \"microbatches\": 2", "\"stages\": 1, \"microbatches\": 3"},
      {"\"stages\": 2, \"microbatches\": 4}", "\"stages\": 8, \"microbatches\": 8}"},
      {"\"accumulation\": \"p\"", "\"accumulation\": 3"},
      {"\"steps\": 3,", "\"steps\": 3, \"search_candidates\": 4,"},
      {"\"steps\": 3,", "\"steps\": 3, \"preset\": \"tanglenas\","},
      {"\"steps\": 3,", "\"steps\": 1073741824,"},
      {"\"schedule\": \"1f1b_flush\", \"stages\": 1", "\"schedule\": \"nope\", \"stages\": 1"}};
  const std::vector<std::string> expected = {
      "studies[0].optimizers[0]: 'spos' is not one of",
      "studies[0].pipelines[0].microbatches: 3 does not divide the study's batch_size 8",
      "studies[0].pipelines[1]: 8 model stages but the supernet has",
      "studies[0].pipelines[2].accumulation: 3 must divide microbatches 4",
      "studies[0].search_candidates: unknown key",
      "studies[0].preset: 'tanglenas' uses dropout, tied embeddings or gradient clipping",
      "studies[0].steps: at most 2^29, got 1073741824",
      "studies[0].pipelines[0].schedule: unknown schedule 'nope'"};
  for (size_t i = 0; i < cases.size(); ++i) {
    auto config = ParseExperimentConfig(Replace(kPipelinedNas, cases[i].first, cases[i].second));
    ASSERT_FALSE(config.ok()) << i;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(expected[i])) << i;
  }
}

constexpr char kPinnedStudy[] = R"({
  "experiment": "pinned", "description": "pinned costs", "seeds": [0],
  "studies": [{"name": "throughput", "kind": "pipeline",
               "schedules": ["1f1b_flush", {"name": "interleaved_1f1b", "chunks": [2]}],
               "stages": [4], "microbatches": [8], "batches": 4,
               "model": "layers=16,embed=64,heads=4,mlp_ratio=4,context=32",
               "link": {"latency_seconds": 0.001, "bandwidth_bytes_per_second": 1e9},
               "costs": "configs/costs/char_gpt_l16_e64_mb8.json"}]})";

TEST(ExperimentConfigTest, APinnedCostFileGivesEachSimulationItsCutAndNoCostsCell) {
  auto config = ParseExperimentConfig(kPinnedStudy);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->cells.size(), 2u);  // nothing measured
  for (const Cell& cell : config->cells) {
    EXPECT_EQ(cell.kind, "sim");
    EXPECT_TRUE(cell.costs_key.empty());
    EXPECT_EQ(cell.params["costs_file"], "configs/costs/char_gpt_l16_e64_mb8.json");
    // The cut of the cell's model stages (4, or 8 chunks), with the study's link.
    const int model_stages = 4 * cell.params["chunks"].get<int>();
    EXPECT_EQ(cell.params["costs"]["stages"].size(), static_cast<size_t>(model_stages));
    EXPECT_EQ(cell.params["costs"]["p2p"]["latency"], 0.001);
    // Kept for tokens per second.
    EXPECT_EQ(cell.params["micro_batch_size"], 8);
  }
}

TEST(ExperimentConfigTest, APinnedCostFileMustHoldTheStudysModelAndCuts) {
  auto other_model = ParseExperimentConfig(Replace(kPinnedStudy, "layers=16", "layers=8"));
  EXPECT_THAT(std::string(other_model.status().message()),
              HasSubstr("studies[0].costs: configs/costs/char_gpt_l16_e64_mb8.json pins model "
                        "'layers=16,embed=64,heads=4,mlp_ratio=4,context=32' at micro-batch "
                        "size 8, not 'layers=8"));
  auto no_cut =
      ParseExperimentConfig(Replace(kPinnedStudy, "\"stages\": [4]", "\"stages\": [3]"));
  EXPECT_THAT(std::string(no_cut.status().message()),
              HasSubstr("has no cut into 3 stages (it has 1, 4, 8, 16)"));
  auto executed = ParseExperimentConfig(
      Replace(kPinnedStudy, "\"batches\": 4,", "\"batches\": 4, \"backends\": [\"executor\"],"));
  EXPECT_THAT(std::string(executed.status().message()), HasSubstr("only time simulations"));
  auto missing = ParseExperimentConfig(Replace(kPinnedStudy, "char_gpt_l16", "no_such"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("studies[0].costs: "));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no_such"));
}

TEST(ExperimentConfigTest, MissingConfigFileIsNamed) {
  auto config = LoadExperimentConfig("/nonexistent/experiment.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("/nonexistent/experiment.json"));
}

TEST(ExperimentConfigTest, EveryShippedConfigParses) {
  for (const char* name : {"paper", "smoke", "throughput", "memory", "time_to_accuracy", "drift",
                           "nas", "nas_pipeline", "staleness", "convergence"}) {
    auto config = LoadExperimentConfig(absl::StrCat("configs/experiments/", name, ".json"));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->experiment, name);
    EXPECT_FALSE(config->cells.empty());
  }
}

}  // namespace
}  // namespace pipebench
