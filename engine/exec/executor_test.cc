#include "engine/exec/executor.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "engine/model/partition.h"
#include "engine/schedule/registry.h"
#include "engine/testing/schedule_fixtures.h"
#include "engine/testing/training_fixtures.h"
#include "gtest/gtest.h"

namespace pipebench {
namespace {

using testing::Params;
using testing::TinyModel;

ExecutorOptions Options(const GptConfig& model) { return testing::TinyTrainingOptions(model); }

const TokenDataset& Data() { return testing::SyntheticData(); }

ExecutorResult MustRun(const std::string& name, const ScheduleParams& params,
                       const ExecutorOptions& options, const CostModel& costs = CostModel()) {
  auto schedule = MakeSchedule(name, params);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  auto partition = PartitionByLayers(*options.model, params.model_stages());
  EXPECT_TRUE(partition.ok()) << partition.status();
  auto result = RunPipeline(**schedule, costs, *partition, Data(), options);
  EXPECT_TRUE(result.ok()) << name << ": " << result.status();
  return result.ok() ? *std::move(result) : ExecutorResult();
}

// Plain training: the whole model, gradients averaged over each batch's m micro-batches.
std::vector<torch::Tensor> ReferenceTraining(const ExecutorOptions& options, int m, int batches) {
  const StageModel& model = *options.model;
  const UnitRange all{0, model.units()};
  std::vector<torch::Tensor> weights = model.InitWeights(all, options.seed);
  AdamW adam(options.optimizer, model.WeightDecayMask(all));
  for (int batch = 0; batch < batches; ++batch) {
    std::vector<torch::Tensor> sum(weights.size());
    for (int i = 0; i < m; ++i) {
      const TokenBatch data =
          Data().TrainBatch(options.micro_batch_size, model.context(), options.seed, batch * m + i);
      const torch::Tensor loss =
          LanguageModelLoss(model.Forward(all, weights, data.inputs, std::nullopt), data.targets);
      std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, weights);
      for (size_t k = 0; k < grads.size(); ++k) sum[k] = sum[k].defined() ? sum[k] + grads[k] : grads[k];
    }
    std::vector<torch::Tensor> data;
    for (size_t k = 0; k < weights.size(); ++k) {
      data.push_back(weights[k].data());
      sum[k] = sum[k] / m;
    }
    adam.Step(data, sum, LearningRate(options.optimizer, batch));
  }
  return weights;
}

TEST(ExecutorTest, FlushSchedulesMatchPlainGradientAccumulation) {
  const ExecutorOptions options = Options(TinyModel());
  const int m = 4;
  const int batches = 3;
  const std::vector<torch::Tensor> expected = ReferenceTraining(options, m, batches);
  for (const char* name : {"gpipe", "1f1b_flush", "zb_h1", "zb_h2"}) {
    for (int p : {1, 2, 4}) {
      const ExecutorResult r = MustRun(name, Params(p, m, batches), options);
      std::vector<torch::Tensor> flat;
      for (const auto& stage : r.final_weights) flat.insert(flat.end(), stage.begin(), stage.end());
      ASSERT_EQ(flat.size(), expected.size());
      for (size_t k = 0; k < flat.size(); ++k) {
        EXPECT_TRUE(torch::allclose(flat[k], expected[k], /*rtol=*/1e-5, /*atol=*/1e-6))
            << name << " p=" << p << " tensor " << k << " max diff "
            << (flat[k] - expected[k]).abs().max().item<float>();
      }
      for (int drift : r.max_drift) EXPECT_EQ(drift, 0);
    }
  }
}

// Every synchronous schedule with chunks, looped (interleaved) or V-shaped, trains exactly as plain
// gradient accumulation: 4 model stages of one block each, two per rank.
TEST(ExecutorTest, ChunkedSynchronousSchedulesMatchPlainGradientAccumulation) {
  const ExecutorOptions options = Options(TinyModel());
  const std::vector<torch::Tensor> expected = ReferenceTraining(options, 4, 2);
  const ScheduleParams params = Params(2, 4, 2, 0, /*v=*/2);
  int chunked = 0;
  for (const std::string& name : RegisteredSchedules()) {
    auto schedule = MakeSchedule(name, params);
    if (!schedule.ok() || !(*schedule)->synchronous()) continue;
    ++chunked;
    const ExecutorResult r = MustRun(name, params, options);
    std::vector<torch::Tensor> flat;
    for (const auto& stage : r.final_weights) flat.insert(flat.end(), stage.begin(), stage.end());
    ASSERT_EQ(flat.size(), expected.size()) << name;
    for (size_t k = 0; k < flat.size(); ++k) {
      EXPECT_TRUE(torch::allclose(flat[k], expected[k], 1e-5, 1e-6)) << name << " tensor " << k;
    }
  }
  EXPECT_GE(chunked, 4);  // interleaved 1F1B and zero bubble, ZB-V, DualPipeV
}

TEST(ExecutorTest, PipeMareCorrectsOnlyWhenThereIsDelay) {
  const ExecutorOptions options = Options(TinyModel());
  // One stage: no delay, so PipeMare is exactly naive async.
  const ExecutorResult naive1 = MustRun("async_naive", Params(1, 4, 4), options);
  const ExecutorResult pipemare1 = MustRun("pipemare", Params(1, 4, 4), options);
  for (size_t k = 0; k < naive1.final_weights[0].size(); ++k) {
    EXPECT_TRUE(torch::equal(naive1.final_weights[0][k], pipemare1.final_weights[0][k])) << k;
  }
  // Two stages: stage 0 has delay 1, so its rate and backward weights are corrected.
  const ExecutorResult naive2 = MustRun("async_naive", Params(2, 4, 4), options);
  const ExecutorResult pipemare2 = MustRun("pipemare", Params(2, 4, 4), options);
  EXPECT_FALSE(torch::allclose(naive2.final_weights[0][0], pipemare2.final_weights[0][0]));
}

TEST(ExecutorTest, PipeDreamBackwardRunsOnTheStashedForwardVersion) {
  const ExecutorResult r = MustRun("pipedream", Params(4, 4, 3), Options(TinyModel()));
  for (size_t mb = 0; mb < r.microbatches.size(); ++mb) {
    for (int s = 0; s < 4; ++s) {
      EXPECT_EQ(r.microbatches[mb].backward_version[s], r.microbatches[mb].forward_version[s]);
    }
  }
  EXPECT_EQ(r.max_drift[0], 3);  // p - s - 1 updates crossed, all on the stash
  EXPECT_EQ(r.max_live_versions, (std::vector<int>{4, 3, 2, 1}));
}

// The staleness study's ablation: PACI's timeline and updates, each backward on its forward's
// weights. Its micro-batches still cross updates (the delay stays), unlike their weights.
TEST(ExecutorTest, PaciStashedRunsEachBackwardOnItsForwardsWeights) {
  const ExecutorResult r = MustRun("paci_stashed", Params(4, 4, 3, 1), Options(TinyModel()));
  int crossed = 0;
  for (const MicrobatchRecord& mb : r.microbatches) {
    for (int s = 0; s < 4; ++s) {
      EXPECT_EQ(mb.backward_version[s], mb.forward_version[s]);
      crossed += mb.updates_crossed[s];
    }
  }
  EXPECT_GT(crossed, 0);
  EXPECT_EQ(r.max_drift[0], 3);  // ceil((p-1)/a) with a = 1
  const ExecutorResult plain = MustRun("paci", Params(4, 4, 3, 1), Options(TinyModel()));
  EXPECT_FALSE(torch::equal(plain.final_weights[0][0], r.final_weights[0][0]));
}

// PACI's semantics, written out by hand for p = 2, a = 1 (an update after every backward), m = 2,
// two mini-batches. The per-stage order is the schedule's (simulate --format=text shows it):
//   stage 0: F0 F1 B0 U F2 B1 U F3 B2 U B3 U
//   stage 1: F0 B0 U F1 B1 U F2 B2 U F3 B3 U
// Stage 0's B1..B3 cross one update: their forward ran on W_t, and their backward runs through the
// activations saved then with the weights as they are now, W_{t+1}. One weight copy per stage.
// PACI at p = 2, m = 2, a = 1 over two mini-batches, written out as a loop of forwards, backwards
// and steps; each stage's optimizer runs with `optimizer` (the run's AdamW, or the NAdamW a weight
// rule asks for). Returns the final weights per stage.
std::vector<std::vector<torch::Tensor>> HandWrittenPaci(const ExecutorOptions& options,
                                                        const OptimizerConfig& optimizer) {
  const StageModel& model = *options.model;
  const auto partition = PartitionByLayers(model, 2);
  EXPECT_TRUE(partition.ok());
  struct Stage {
    UnitRange units;
    std::vector<torch::Tensor> weights;
    std::unique_ptr<AdamW> adam;
    std::vector<torch::Tensor> grad;
    int steps = 0;
  };
  std::vector<Stage> stages(2);
  for (int g = 0; g < 2; ++g) {
    stages[g].units = (*partition)[g];
    stages[g].weights = model.InitWeights(stages[g].units, options.seed);
    stages[g].adam = std::make_unique<AdamW>(optimizer, model.WeightDecayMask(stages[g].units));
  }
  std::map<int, torch::Tensor> stage0_out, stage1_in, stage1_loss, gradient_to_stage0;
  auto forward0 = [&](int mb) {
    const TokenBatch batch =
        Data().TrainBatch(options.micro_batch_size, model.context(), options.seed, mb);
    stage0_out[mb] = model.Forward(stages[0].units, stages[0].weights, batch.inputs, std::nullopt);
  };
  auto forward1 = [&](int mb) {
    const TokenBatch batch =
        Data().TrainBatch(options.micro_batch_size, model.context(), options.seed, mb);
    stage1_in[mb] = stage0_out[mb].detach().requires_grad_(true);
    stage1_loss[mb] = LanguageModelLoss(
        model.Forward(stages[1].units, stages[1].weights, stage1_in[mb], std::nullopt), batch.targets);
  };
  auto accumulate = [](Stage& stage, std::vector<torch::Tensor> grads) {
    stage.grad = std::move(grads);  // a = 1: one backward per step
  };
  auto backward1 = [&](int mb) {
    std::vector<torch::Tensor> inputs = stages[1].weights;
    inputs.push_back(stage1_in[mb]);
    std::vector<torch::Tensor> grads = torch::autograd::grad({stage1_loss[mb]}, inputs);
    gradient_to_stage0[mb] = grads.back();
    grads.pop_back();
    accumulate(stages[1], grads);
  };
  auto backward0 = [&](int mb) {
    accumulate(stages[0], torch::autograd::grad({stage0_out[mb]}, stages[0].weights,
                                                {gradient_to_stage0[mb]}));
  };
  auto step = [&](int g) {
    Stage& stage = stages[g];
    std::vector<torch::Tensor> data;
    for (torch::Tensor& w : stage.weights) data.push_back(w.data());
    stage.adam->Step(data, stage.grad, LearningRate(options.optimizer, stage.steps++));
  };
  // Any interleaving of the two stages that respects each one's order and the data gives the same
  // weights; this one runs each stage-1 step as soon as its input exists.
  forward0(0);
  forward0(1);
  forward1(0); backward1(0); step(1);
  backward0(0); step(0);
  forward1(1); backward1(1); step(1);
  forward0(2); backward0(1); step(0);
  forward1(2); backward1(2); step(1);
  forward0(3); backward0(2); step(0);
  forward1(3); backward1(3); step(1);
  backward0(3); step(0);
  return {stages[0].weights, stages[1].weights};
}

void ExpectWeightsClose(const ExecutorResult& r,
                        const std::vector<std::vector<torch::Tensor>>& expected) {
  for (int g = 0; g < 2; ++g) {
    ASSERT_EQ(r.final_weights[g].size(), expected[g].size());
    for (size_t k = 0; k < expected[g].size(); ++k) {
      EXPECT_TRUE(torch::allclose(r.final_weights[g][k], expected[g][k], 1e-5, 1e-5))
          << "stage " << g << " tensor " << k << " max diff "
          << (r.final_weights[g][k] - expected[g][k]).abs().max().item<float>();
    }
  }
}

TEST(ExecutorTest, PaciMatchesAHandWrittenLoopOfItsSemantics) {
  const ExecutorOptions options = Options(TinyModel());
  const ExecutorResult r = MustRun("paci", Params(2, 2, 2, 1), options);
  EXPECT_EQ(r.max_drift, (std::vector<int>{1, 0}));
  ExpectWeightsClose(r, HandWrittenPaci(options, options.optimizer));
  // Stashing changes exactly what crossing an update means: PipeDream, with the same updates but
  // each backward on its forward's weights, ends elsewhere.
  const ExecutorResult stashed = MustRun("pipedream", Params(2, 2, 2), options);
  EXPECT_FALSE(torch::allclose(stashed.final_weights[0][0], r.final_weights[0][0], 1e-5, 1e-5));
}

// The Nesterov look-ahead rule keeps PACI's timeline and swaps each stage's AdamW for NAdamW at
// beta1 = 0.99: the same hand-written loop with that optimizer.
TEST(ExecutorTest, PaciWithNesterovLookAheadMatchesTheLoopWithNadamw) {
  const ExecutorOptions options = Options(TinyModel());
  const ExecutorResult r = MustRun("paci+nesterov", Params(2, 2, 2, 1), options);
  EXPECT_EQ(r.max_drift, (std::vector<int>{1, 0}));
  OptimizerConfig nadam = options.optimizer;
  nadam.nesterov = true;
  nadam.beta1 = 0.99;
  ExpectWeightsClose(r, HandWrittenPaci(options, nadam));
  const ExecutorResult plain = MustRun("paci", Params(2, 2, 2, 1), options);
  EXPECT_FALSE(torch::allclose(plain.final_weights[0][0], r.final_weights[0][0], 1e-5, 1e-5));
}

// With one mini-batch and a = m, no micro-batch straddles an update (each stage steps once, after
// every backward): PACI is then exactly 1F1B-flush.
TEST(ExecutorTest, PaciEqualsFlushWhenNoMicrobatchStraddlesAnUpdate) {
  const ExecutorOptions options = Options(TinyModel());
  const ExecutorResult paci = MustRun("paci", Params(4, 4, 1, 4), options);
  const ExecutorResult flush = MustRun("1f1b_flush", Params(4, 4, 1), options);
  for (int drift : paci.max_drift) EXPECT_EQ(drift, 0);
  for (int g = 0; g < 4; ++g) {
    for (size_t k = 0; k < flush.final_weights[g].size(); ++k) {
      EXPECT_TRUE(torch::equal(paci.final_weights[g][k], flush.final_weights[g][k]))
          << "stage " << g << " tensor " << k;
    }
  }
}

TEST(ExecutorTest, PipeDream2BWNeverHoldsMoreThanTwoVersions) {
  const ExecutorResult r = MustRun("pipedream_2bw", Params(4, 4, 4), Options(TinyModel()));
  EXPECT_EQ(r.max_live_versions, (std::vector<int>{2, 2, 2, 1}));
  for (int drift : r.max_drift) EXPECT_LE(drift, 1);
}

// A schedule's weight policy promises how many versions a stage holds; the tensors keep to it.
TEST(ExecutorTest, EveryScheduleHoldsNoMoreWeightVersionsThanItsPolicyPromises) {
  for (const std::string& name : RegisteredSchedules()) {
    const ScheduleParams params = Params(4, 4, 3, 2);
    // Chunked schedules (V-shaped ones need two chunks, more stages than the model has blocks)
    // are synchronous with one copy; ChunkedSynchronousSchedulesMatchPlainGradientAccumulation
    // checks their weights exactly.
    if (!MakeSchedule(name, params).ok()) continue;
    const ExecutorResult r = MustRun(name, params, Options(TinyModel()));
    const auto schedule = MakeSchedule(name, params);
    ASSERT_TRUE(schedule.ok());
    for (int g = 0; g < params.model_stages(); ++g) {
      const WeightPolicy policy = (*schedule)->weight_policy(g);
      const int promised = policy.stash ? policy.max_versions : 1;
      if (promised > 0) {
        EXPECT_LE(r.max_live_versions[g], promised) << name << " stage " << g;
      }
    }
  }
}

TEST(ExecutorTest, PaciDriftMatchesTheSimulatorAndItsBound) {
  for (int a : {1, 2, 4}) {
    CostModel costs;  // uneven stages, so the timeline is not the textbook one
    costs.stages = {{1.0, 1.0, 1.0, 0.1, 0}, {1.5, 1.2, 1.2, 0.1, 0}, {0.7, 0.9, 0.9, 0.1, 0},
                    {1.1, 1.0, 1.0, 0.1, 0}};
    const ScheduleParams params = Params(4, 4, 4, a);
    const ExecutorResult r = MustRun("paci", params, Options(TinyModel()), costs);
    for (int s = 0; s < 4; ++s) {
      EXPECT_LE(r.max_drift[s], (4 - s - 1 + a - 1) / a) << "a=" << a << " s=" << s;
      EXPECT_EQ(r.max_live_versions[s], 1);
      for (int mb = 0; mb < params.total_microbatches(); ++mb) {
        EXPECT_EQ(r.microbatches[mb].updates_crossed[s], r.simulation.UpdatesCrossed(s, mb))
            << "a=" << a << " s=" << s << " mb=" << mb;
      }
    }
    EXPECT_EQ(r.max_drift[0], (3 + a - 1) / a);
  }
}

// The mechanism PACI's executor relies on: updating a parameter through `.data()` while a graph
// that saved it is alive neither trips autograd's version check nor hides the update: the
// backward's input gradient uses the new weights, its weight gradient the forward's input.
TEST(ExecutorTest, InPlaceUpdateThroughDataAliasMakesBackwardUseCurrentWeights) {
  torch::Tensor weight = torch::randn({3, 5}).set_requires_grad(true);
  torch::Tensor input = torch::randn({2, 5}).set_requires_grad(true);
  const torch::Tensor old_weight = weight.detach().clone();
  torch::Tensor output = torch::linear(input, weight);
  const torch::Tensor delta = torch::randn({3, 5});
  weight.data().add_(delta);  // the optimizer step, between forward and backward
  const torch::Tensor grad_output = torch::randn({2, 3});
  output.backward(grad_output);
  EXPECT_TRUE(torch::allclose(input.grad(), grad_output.matmul(old_weight + delta)));
  EXPECT_FALSE(torch::allclose(input.grad(), grad_output.matmul(old_weight)));
  EXPECT_TRUE(torch::allclose(weight.grad(), grad_output.t().matmul(input.detach())));

  // Without the alias, the same update is refused: this is why PACI needed a patched PyTorch.
  torch::Tensor w2 = torch::randn({3, 5}).set_requires_grad(true);
  torch::Tensor out2 = torch::linear(input, w2);
  {
    torch::NoGradGuard no_grad;
    w2.add_(delta);
  }
  EXPECT_THROW(out2.backward(grad_output), c10::Error);
}

TEST(ExecutorTest, EveryScheduleLowersTheLossOnTheSyntheticLanguage) {
  ExecutorOptions options = Options(TinyModel(2));
  options.optimizer.learning_rate = 1e-2;
  options.optimizer.total_steps = 200;
  for (const std::string& name : RegisteredSchedules()) {
    // Each schedule with the fewest chunks it takes, one block per model stage.
    ScheduleParams params = Params(2, 4, 40, 4);
    params.chunks = testing::AcceptedChunks(name, 2, 4).front();
    ExecutorOptions sized = options;
    sized.model = std::make_shared<const GptModel>(TinyModel(2 * params.chunks));
    const ExecutorResult r = MustRun(name, params, sized);
    ASSERT_EQ(r.batches.size(), 40u) << name;
    const double first = (r.batches[0].train_loss + r.batches[1].train_loss) / 2;
    const double last = (r.batches[38].train_loss + r.batches[39].train_loss) / 2;
    EXPECT_LT(last, first - 0.5) << name << ": " << first << " -> " << last;
    EXPECT_LT(r.final_validation_loss, std::log(16.0) - 0.5) << name;
  }
}

// Zero costs are legal (cost measurement clamps noise to 0), so many actions share a timestamp.
// The executor must still run them causally - it once replayed a timestamp sort that put rank 0's
// backward before the gradient it needs - and a synchronous schedule's weights cannot depend on
// the clock at all.
TEST(ExecutorTest, ZeroCostAndEqualTimestampActionsRunCausallyForEverySchedule) {
  const ExecutorOptions options = Options(TinyModel());
  CostModel free;
  free.stages = {StageCost{0, 0, 0, 0, 0}};
  CostModel free_backward;
  free_backward.stages = {StageCost{1, 0, 0, 0, 0}};
  for (const std::string& name : RegisteredSchedules()) {
    const ScheduleParams params = testing::Accepted(name, Params(2, 2, 2));
    const ExecutorResult timed = MustRun(name, params, options);
    for (const CostModel* costs : {&free, &free_backward}) {
      const ExecutorResult r = MustRun(name, params, options, *costs);
      ASSERT_EQ(r.batches.size(), 2u) << name;
      if (!MakeSchedule(name, params).value()->synchronous()) continue;
      for (size_t g = 0; g < r.final_weights.size(); ++g) {
        for (size_t k = 0; k < r.final_weights[g].size(); ++k) {
          EXPECT_TRUE(torch::equal(r.final_weights[g][k], timed.final_weights[g][k]))
              << name << " stage " << g << " tensor " << k;
        }
      }
    }
  }
}

TEST(ExecutorTest, RunsAreDeterministic) {
  const ExecutorResult a = MustRun("paci", Params(2, 4, 3, 2), Options(TinyModel()));
  const ExecutorResult b = MustRun("paci", Params(2, 4, 3, 2), Options(TinyModel()));
  for (size_t g = 0; g < a.final_weights.size(); ++g) {
    for (size_t k = 0; k < a.final_weights[g].size(); ++k) {
      EXPECT_TRUE(torch::equal(a.final_weights[g][k], b.final_weights[g][k]));
    }
  }
}

TEST(ExecutorTest, DivergenceNamesTheStageAndBatch) {
  ExecutorOptions options = Options(TinyModel());
  options.optimizer.learning_rate = 1e9;
  options.optimizer.warmup_steps = 0;
  options.optimizer.weight_decay = 0;
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 2, 20));
  auto partition = PartitionByLayers(*options.model, 2);
  auto result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("non-finite"), std::string::npos) << result.status();
  EXPECT_NE(result.status().message().find("stage"), std::string::npos) << result.status();
}

// A synchronous schedule is evaluated between mini-batches: the loss recorded after batch k is
// the loss of the weights a k-batch run ends with (every stage has applied batch k's update; in
// 1F1B-flush the last stage steps before stage 0's last backward, so evaluating when the batch's
// backwards finish would mix updated and stale stages).
TEST(ExecutorTest, SynchronousMidRunEvaluationSeesTheWeightsAfterTheBatch) {
  ExecutorOptions options = Options(TinyModel());
  options.eval_every_batches = 1;
  for (const char* name : {"1f1b_flush", "gpipe", "zb_h1"}) {
    const ExecutorResult full = MustRun(name, Params(2, 2, 3), options);
    ASSERT_EQ(full.batches.size(), 3u) << name;
    for (int k = 1; k <= 3; ++k) {
      ExecutorOptions shorter = options;
      shorter.eval_every_batches = 0;
      const ExecutorResult cut = MustRun(name, Params(2, 2, k), shorter);
      ASSERT_TRUE(full.batches[k - 1].validation_loss.has_value());
      EXPECT_NEAR(*full.batches[k - 1].validation_loss, cut.final_validation_loss, 1e-6)
          << name << " after batch " << k;
    }
  }
}

// With a budget every schedule stops at the same simulated time, not the same step: after the
// first mini-batch that ends at or after it. PACI, without flushes, fits more batches in.
TEST(ExecutorTest, ABudgetStopsEverySchedulePastTheSameSimulatedTime) {
  ExecutorOptions options = Options(TinyModel());
  options.budget_seconds = 40;  // CostModel(): unit forward, two-unit backward
  std::map<std::string, std::size_t> batches;
  for (const char* name : {"1f1b_flush", "gpipe", "paci", "pipedream_2bw"}) {
    const ExecutorResult r = MustRun(name, Params(4, 4, 30), options);
    ASSERT_TRUE(r.budget_reached) << name;
    ASSERT_GE(r.batches.size(), 2u) << name;
    EXPECT_GE(r.batches.back().simulated_time, options.budget_seconds) << name;
    EXPECT_LT(r.batches[r.batches.size() - 2].simulated_time, options.budget_seconds) << name;
    batches[name] = r.batches.size();
  }
  EXPECT_GT(batches["paci"], batches["1f1b_flush"]);
  // Too few batches to get there: the run says so instead of pretending.
  EXPECT_FALSE(MustRun("1f1b_flush", Params(4, 4, 1), options).budget_reached);
}

// A shared cosine horizon: a run of 6 mini-batches with a horizon of 4 follows, for its first 4
// batches, exactly the learning rates (and so the losses) of a run of 4, for a synchronous and an
// asynchronous schedule; the same run without the horizon decays more slowly and differs.
TEST(ExecutorTest, AHorizonInMiniBatchesFixesTheLearningRateScheduleWhateverTheRunLength) {
  ExecutorOptions options = Options(TinyModel());
  options.optimizer.total_steps = 0;
  options.optimizer.warmup_steps = 1;  // the cosines of 4 and 6 batches part from the second step
  options.optimizer.learning_rate = 1e-2;
  for (const char* name : {"1f1b_flush", "paci"}) {
    const ExecutorResult four = MustRun(name, Params(2, 2, 4), options);
    const ExecutorResult six_own_horizon = MustRun(name, Params(2, 2, 6), options);
    options.horizon_batches = 4;
    const ExecutorResult six = MustRun(name, Params(2, 2, 6), options);
    options.horizon_batches = 0;
    ASSERT_EQ(four.batches.size(), 4u) << name;
    ASSERT_EQ(six.batches.size(), 6u) << name;
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(six.batches[k].train_loss, four.batches[k].train_loss) << name << " batch " << k;
    }
    EXPECT_NE(six_own_horizon.batches[3].train_loss, four.batches[3].train_loss) << name;
  }
  options.horizon_batches = -1;
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 2, 1));
  ASSERT_TRUE(schedule.ok());
  auto partition = PartitionByLayers(*options.model, 2);
  ASSERT_TRUE(partition.ok());
  auto result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("horizon_batches"), std::string::npos);
}

TEST(ExecutorTest, TheValidationSubsetMustFitTheValidationSplit) {
  ExecutorOptions options = Options(TinyModel());
  options.eval_tokens = Data().validation_size() + 1;
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 2, 1));
  ASSERT_TRUE(schedule.ok());
  auto partition = PartitionByLayers(*options.model, 2);
  ASSERT_TRUE(partition.ok());
  const auto result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("eval_tokens"), std::string::npos);
}

// Alternating updates need architecture tensors to alternate with; the GPT has none.
TEST(ExecutorTest, ArchitectureTrainingNeedsAModelWithArchitectureParameters) {
  ExecutorOptions options = Options(TinyModel());
  options.architecture = ArchitectureTraining();
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 2, 1));
  ASSERT_TRUE(schedule.ok());
  auto partition = PartitionByLayers(*options.model, 2);
  ASSERT_TRUE(partition.ok());
  auto result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  EXPECT_NE(result.status().message().find("has no architecture parameters"), std::string::npos);
  options.architecture->split = 1.0;
  result = RunPipeline(**schedule, CostModel(), *partition, Data(), options);
  EXPECT_NE(result.status().message().find("split must be in (0, 1)"), std::string::npos);
}

#ifndef PIPEBENCH_WITH_CUDA
// On Debian's CPU LibTorch a GPU run stops before any work with one error naming the GPU build.
TEST(ExecutorTest, AGpuDeviceOnACpuBuildIsOneClearError) {
  ExecutorOptions options = Options(TinyModel());
  options.device = torch::Device(torch::kCUDA);
  auto schedule = MakeSchedule("1f1b_flush", Params(2, 2, 1));
  ASSERT_TRUE(schedule.ok());
  const auto result = RunPipeline(**schedule, CostModel(),
                                  *PartitionByLayers(*options.model, 2), Data(), options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("ci/gpu/build.sh"), std::string::npos)
      << result.status();
}
#endif

TEST(ExecutorTest, PartitionMustMatchTheSchedule) {
  const ExecutorOptions options = Options(TinyModel());
  auto schedule = MakeSchedule("gpipe", Params(2, 2, 1));
  auto three = PartitionByLayers(*options.model, 3);
  auto result = RunPipeline(**schedule, CostModel(), *three, Data(), options);
  EXPECT_NE(result.status().message().find("partition has 3 stages"), std::string::npos);
  std::vector<UnitRange> gap = {{0, 2}, {3, 6}};
  result = RunPipeline(**schedule, CostModel(), gap, Data(), options);
  EXPECT_NE(result.status().message().find("partition stage 1"), std::string::npos);
}

}  // namespace
}  // namespace pipebench
