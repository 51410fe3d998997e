#include "nas/pipeline/supernet_stage_model.h"

#include <algorithm>

#include "engine/exec/executor.h"
#include "engine/model/partition.h"
#include "engine/schedule/registry.h"
#include "engine/testing/rank_fixtures.h"
#include "engine/testing/schedule_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using ::pipebench::testing::Params;

SearchSpace Space() {
  auto space = ParseSearchSpace(
      R"({"embed": [8, 12], "heads": [2, 4], "mlp_ratio": [1, 2], "layers": [1, 2, 3],
          "context": 6})",
      10);
  EXPECT_TRUE(space.ok()) << space.status();
  return *space;
}

std::shared_ptr<const SupernetStageModel> Model(SamplerKind sampler,
                                                WeightStorage storage = WeightStorage::kEntangled) {
  auto model = SupernetStageModel::Create(Space(), {storage}, sampler);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

// Chains `model` over `cuts` from one draw of weights (seed 5).
torch::Tensor Chained(const StageModel& model, const std::vector<int>& cuts,
                      const torch::Tensor& tokens, std::optional<std::uint64_t> seed) {
  torch::Tensor x = tokens;
  for (size_t s = 0; s + 1 < cuts.size(); ++s) {
    const UnitRange range{cuts[s], cuts[s + 1]};
    x = model.Forward(range, model.InitWeights(range, 5), x, seed);
  }
  return x;
}

class SupernetStageModelTest : public ::testing::TestWithParam<SamplerKind> {};

// A micro-batch draws the same architecture and computes the same logits however the supernet
// is cut into stages.
TEST_P(SupernetStageModelTest, AnyCutComputesTheSameAsOneStage) {
  const auto model = Model(GetParam());
  ASSERT_EQ(model->units(), 5);
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  for (std::optional<std::uint64_t> seed : std::vector<std::optional<std::uint64_t>>{42, std::nullopt}) {
    const torch::Tensor whole = Chained(*model, {0, 5}, tokens, seed);
    EXPECT_EQ(whole.sizes(), (std::vector<int64_t>{2, 6, 10}));
    for (const std::vector<int>& cuts :
         std::vector<std::vector<int>>{{0, 2, 5}, {0, 1, 3, 5}, {0, 2, 3, 5}}) {
      EXPECT_TRUE(torch::allclose(Chained(*model, cuts, tokens, seed), whole, 1e-5, 1e-6))
          << cuts.size() - 1 << " stages";
    }
  }
  // Another micro-batch (seed) draws differently, except for DARTS' deterministic softmax.
  if (GetParam() != SamplerKind::kDartsSoftmax) {
    EXPECT_FALSE(torch::allclose(Chained(*model, {0, 5}, tokens, 42),
                                 Chained(*model, {0, 5}, tokens, 43)));
  }
}

INSTANTIATE_TEST_SUITE_P(Samplers, SupernetStageModelTest,
                         ::testing::Values(SamplerKind::kDartsSoftmax, SamplerKind::kDrnas,
                                           SamplerKind::kGdas, SamplerKind::kSpos));

// Evaluation mixes with softmax(alpha): the single-process supernet's Mixed on the same weights.
TEST(SupernetStageModelTest, EvaluationIsTheSupernetMixingWithSoftmaxAlpha) {
  const auto model = Model(SamplerKind::kDrnas, WeightStorage::kSeparate);
  const UnitRange all{0, model->units()};
  const std::vector<torch::Tensor> weights = model->InitWeights(all, 5);
  // Matrices and tables decay; vectors (biases, norms, alpha) do not; alpha is marked.
  const std::vector<bool> decay = model->WeightDecayMask(all);
  const std::vector<bool> architecture = model->ArchitectureMask(all);
  ASSERT_EQ(decay.size(), weights.size());
  ASSERT_EQ(architecture.size(), weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    EXPECT_EQ(decay[i], weights[i].dim() >= 2) << "tensor " << i;
  }
  EXPECT_EQ(std::count(architecture.begin(), architecture.end(), true), 8);
  auto supernet = EntangledGpt::Create(Space(), 5, {WeightStorage::kSeparate});
  ASSERT_TRUE(supernet.ok());
  // The model's weights are the supernet's of that seed, alpha rows after each unit's.
  std::vector<torch::Tensor> alpha;
  size_t next = 0;
  for (int unit = 0; unit < model->units(); ++unit) {
    for (const torch::Tensor& p : supernet->UnitParameters(unit)) {
      ASSERT_TRUE(torch::equal(weights[next++], p)) << "unit " << unit;
    }
    for (int a = 0; a < model->ArchitectureTensorsOf(unit); ++a) alpha.push_back(weights[next++]);
  }
  ASSERT_EQ(alpha.size(), 8u);
  const MixingWeights mixing{torch::softmax(alpha[0], -1), torch::softmax(alpha[1], -1),
                             torch::softmax(torch::stack({alpha[2], alpha[4], alpha[6]}), -1),
                             torch::softmax(torch::stack({alpha[3], alpha[5], alpha[7]}), -1)};
  const torch::Tensor tokens = torch::randint(0, 10, {2, 6}, torch::kInt64);
  EXPECT_TRUE(torch::allclose(model->Forward(all, weights, tokens, std::nullopt),
                              supernet->Mixed(tokens, mixing), 1e-5, 1e-6));
}

TEST(SupernetStageModelTest, RefusesWhatThePipelineCannotRunYet) {
  SupernetOptions options;
  options.dropout = 0.1;
  EXPECT_NE(SupernetStageModel::Create(Space(), options, SamplerKind::kGdas)
                .status()
                .message()
                .find("dropout"),
            std::string::npos);
  options = SupernetOptions();
  options.tied_embeddings = true;
  EXPECT_NE(SupernetStageModel::Create(Space(), options, SamplerKind::kGdas)
                .status()
                .message()
                .find("tied_embeddings false"),
            std::string::npos);
}

const TokenDataset& Data() {
  static const TokenDataset* data = new TokenDataset(TokenDataset::Synthetic(10, 20000, 11));
  return *data;
}

// With `alternate`, the search's bi-level updates: alpha with its own Adam on even mini-batches
// from the split's second half, the weights on odd ones from the first.
ExecutorOptions Options(std::shared_ptr<const StageModel> model, bool alternate = true) {
  ExecutorOptions options;
  if (alternate) {
    ArchitectureTraining architecture;
    architecture.optimizer.learning_rate = 1e-2;
    architecture.optimizer.beta1 = 0.5;
    architecture.optimizer.weight_decay = 1e-3;
    architecture.optimizer.warmup_steps = 0;
    architecture.optimizer.min_lr_ratio = 1.0;
    options.architecture = architecture;
  }
  options.model = std::move(model);
  options.micro_batch_size = 2;
  options.seed = 3;
  options.optimizer.learning_rate = 3e-3;
  options.optimizer.warmup_steps = 1;
  options.optimizer.total_steps = 20;
  options.eval_tokens = 24;
  return options;
}

ExecutorResult MustRun(const std::string& schedule_name, const ScheduleParams& params,
                   const ExecutorOptions& options) {
  auto schedule = MakeSchedule(schedule_name, params);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  auto partition = PartitionByLayers(*options.model, params.model_stages());
  EXPECT_TRUE(partition.ok()) << partition.status();
  auto result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  EXPECT_TRUE(result.ok()) << schedule_name << ": " << result.status();
  return result.ok() ? *std::move(result) : ExecutorResult();
}

std::vector<torch::Tensor> Flat(const ExecutorResult& result) {
  std::vector<torch::Tensor> all;
  for (const auto& stage : result.final_weights) all.insert(all.end(), stage.begin(), stage.end());
  return all;
}

bool IsAlpha(const torch::Tensor& t) { return t.dim() == 1 && t.size(0) <= 3; }

// An alternating run: the first mini-batch moves only alpha, the second only the weights.
TEST(SupernetPipelineTest, MiniBatchesAlternateBetweenAlphaAndTheWeights) {
  const ExecutorOptions options = Options(Model(SamplerKind::kDrnas));
  const std::vector<torch::Tensor> initial =
      options.model->InitWeights({0, options.model->units()}, options.seed);
  const std::vector<torch::Tensor> one = Flat(MustRun("1f1b_flush", Params(3, 2, 1), options));
  const std::vector<torch::Tensor> two = Flat(MustRun("1f1b_flush", Params(3, 2, 2), options));
  ASSERT_EQ(one.size(), initial.size());
  int alphas = 0;
  for (size_t i = 0; i < initial.size(); ++i) {
    if (IsAlpha(initial[i])) {
      ++alphas;
      EXPECT_FALSE(torch::equal(one[i], initial[i])) << "alpha " << i << " not stepped";
      EXPECT_TRUE(torch::equal(two[i], one[i])) << "alpha " << i << " stepped on weight data";
    } else {
      EXPECT_TRUE(torch::equal(one[i], initial[i])) << "weight " << i << " stepped on alpha data";
    }
  }
  EXPECT_EQ(alphas, 8);
  bool weights_moved = false;
  for (size_t i = 0; i < initial.size(); ++i) {
    if (!IsAlpha(initial[i]) && !torch::equal(two[i], one[i])) weights_moved = true;
  }
  EXPECT_TRUE(weights_moved);
}

// The search trains weights and alpha in a pipeline: under 1F1B-flush on 3 stages it takes the
// same steps as one process (weights and alpha within 1e-5 after 4 mini-batches), bi-level or
// single-level.
TEST(SupernetPipelineTest, FlushOnThreeStagesEqualsOneProcess) {
  for (const auto& [sampler, alternate] :
       std::vector<std::pair<SamplerKind, bool>>{{SamplerKind::kDrnas, true},
                                                 {SamplerKind::kGdas, true},
                                                 {SamplerKind::kDrnas, false}}) {
    SCOPED_TRACE(::testing::Message() << "alternating " << alternate);
    const ExecutorOptions options = Options(Model(sampler), alternate);
    const std::vector<torch::Tensor> one = Flat(MustRun("gpipe", Params(1, 4, 4), options));
    const std::vector<torch::Tensor> three = Flat(MustRun("1f1b_flush", Params(3, 4, 4), options));
    ASSERT_EQ(one.size(), three.size());
    const std::vector<torch::Tensor> initial =
        options.model->InitWeights({0, options.model->units()}, options.seed);
    bool alpha_moved = false;
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_TRUE(torch::allclose(one[i], three[i], 1e-5, 1e-5)) << "tensor " << i;
      if (IsAlpha(one[i]) && !torch::equal(one[i], initial[i])) {
        alpha_moved = true;
      }
    }
    EXPECT_TRUE(alpha_moved);
  }
}

// Under PACI a stage steps weights or alpha after every a backwards; no backward crosses more
// updates than the schedule's bound ceil((p - s - 1) / a), and stage 0's (which owns the global
// choices) reaches it.
TEST(SupernetPipelineTest, PaciStaysWithinItsDriftBounds) {
  const ExecutorOptions options = Options(Model(SamplerKind::kDrnas));
  auto schedule = MakeSchedule("paci", Params(3, 4, 4, 1));
  ASSERT_TRUE(schedule.ok());
  const ExecutorResult result = MustRun("paci", Params(3, 4, 4, 1), options);
  const RunSummary summary = SummarizeExecutorRun(**schedule, result);
  ASSERT_EQ(summary.model_stages.size(), 3u);
  for (const ModelStageSummary& stage : summary.model_stages) {
    EXPECT_LE(stage.max_drift, stage.drift_bound) << "stage " << stage.model_stage;
  }
  EXPECT_EQ(summary.model_stages[0].drift_bound, 2);
  EXPECT_EQ(summary.model_stages[0].max_drift, 2);
  EXPECT_TRUE(std::isfinite(result.final_validation_loss));
}

// The same search with one process per stage (Gloo, threads here): the ranks end with the
// single-process executor's weights and alpha, the activations carrying the global choices'
// mixing weights and their gradients between processes.
TEST(SupernetPipelineTest, DistributedFlushEqualsTheSingleProcessExecutor) {
  const ExecutorOptions options = Options(Model(SamplerKind::kGdas));
  auto schedule = MakeSchedule("1f1b_flush", Params(3, 4, 3));
  ASSERT_TRUE(schedule.ok());
  const ExecutorResult local = MustRun("1f1b_flush", Params(3, 4, 3), options);
  const auto ranks = testing::RunRanksInThreads(**schedule, Data(), options);
  for (int rank = 0; rank < 3; ++rank) {
    ASSERT_TRUE(ranks[rank].ok()) << "rank " << rank << ": " << ranks[rank].status();
    const std::vector<torch::Tensor>& weights = ranks[rank]->final_weights[0];
    ASSERT_EQ(weights.size(), local.final_weights[rank].size());
    for (size_t k = 0; k < weights.size(); ++k) {
      EXPECT_TRUE(torch::allclose(weights[k], local.final_weights[rank][k], 1e-5, 1e-6))
          << "rank " << rank << " tensor " << k;
    }
  }
}

}  // namespace
}  // namespace pipebench
