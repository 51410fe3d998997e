#include "engine/exec/optimizer.h"

#include <cmath>

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(LearningRateTest, WarmupThenCosineToTheFloor) {
  OptimizerConfig config;
  config.learning_rate = 1.0;
  config.warmup_steps = 4;
  config.total_steps = 14;
  config.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(LearningRate(config, 0), 0.25);
  EXPECT_DOUBLE_EQ(LearningRate(config, 3), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(config, 4), 1.0);
  EXPECT_NEAR(LearningRate(config, 9), 0.55, 1e-12);  // halfway down the cosine
  EXPECT_NEAR(LearningRate(config, 14), 0.1, 1e-12);
  EXPECT_NEAR(LearningRate(config, 100), 0.1, 1e-12);
}

TEST(AdamWTest, FirstStepMovesEachWeightByTheLearningRate) {
  OptimizerConfig config;
  config.weight_decay = 0.5;
  AdamW adam(config, {true, false});
  torch::Tensor decayed = torch::full({2}, 2.0);
  torch::Tensor plain = torch::full({2}, 2.0);
  adam.Step({decayed, plain}, {torch::tensor({1.0f, -3.0f}), torch::tensor({1.0f, -3.0f})}, 0.1);
  // Bias-corrected Adam's first step is lr * sign(g); decay shrinks by (1 - lr * wd) first.
  EXPECT_NEAR(decayed[0].item<float>(), 2.0 * 0.95 - 0.1, 1e-5);
  EXPECT_NEAR(decayed[1].item<float>(), 2.0 * 0.95 + 0.1, 1e-5);
  EXPECT_NEAR(plain[0].item<float>(), 1.9, 1e-5);
  EXPECT_EQ(adam.steps(), 1);
}

TEST(AdamWTest, MinimisesAQuadratic) {
  OptimizerConfig config;
  config.weight_decay = 0;
  AdamW adam(config, {false});
  torch::Tensor x = torch::full({3}, 5.0);
  for (int i = 0; i < 2000; ++i) adam.Step({x}, {2 * (x - 1)}, 0.05);
  EXPECT_TRUE(torch::allclose(x, torch::ones({3}), 1e-2, 1e-2)) << x;
}

// Two NAdamW steps by hand (torch.optim.NAdam's update with decoupled weight decay), beta1 0.99,
// beta2 0.95, lr 0.1, gradients 2 then -1, from 1:
//   mu_t = 0.99 (1 - 0.5 * 0.96^(0.004 t)): mu_1 = 0.4950808, mu_2 = 0.4951616, mu_3 = 0.4952424
//   step 1: m = 0.02, v = 0.2, denominator sqrt(0.2 / 0.05) = 2;
//           x = 1 - 0.1 * 1 * 2/2 - 0.1 * mu_2 / (1 - mu_1 mu_2) * 0.02/2 = 0.8993440
//   step 2: m = 0.0098, v = 0.24, denominator sqrt(0.24 / 0.0975) = 1.5689291;
//           x = 0.8993440 - 0.1 (1 - mu_2) / (1 - mu_1 mu_2) * (-1) / 1.5689291
//                         - 0.1 mu_3 / (1 - mu_1 mu_2 mu_3) * 0.0098 / 1.5689291 = 0.9416190
// With weight decay 0.5 each step first shrinks x by (1 - 0.05): 0.8493440, then 0.8491518.
TEST(AdamWTest, NesterovFormMatchesAHandComputation) {
  OptimizerConfig config;
  config.beta1 = 0.99;
  config.beta2 = 0.95;
  config.weight_decay = 0.5;
  config.nesterov = true;
  AdamW nadam(config, {false, true});
  torch::Tensor plain = torch::ones({1}, torch::kFloat64);
  torch::Tensor decayed = torch::ones({1}, torch::kFloat64);
  const torch::Tensor first = torch::full({1}, 2.0, torch::kFloat64);
  nadam.Step({plain, decayed}, {first, first}, 0.1);
  EXPECT_NEAR(plain.item<double>(), 0.8993440312833297, 1e-12);
  EXPECT_NEAR(decayed.item<double>(), 0.8493440312833297, 1e-12);
  const torch::Tensor second = torch::full({1}, -1.0, torch::kFloat64);
  nadam.Step({plain, decayed}, {second, second}, 0.1);
  EXPECT_NEAR(plain.item<double>(), 0.9416190159706332, 1e-12);
  EXPECT_NEAR(decayed.item<double>(), 0.8491518144064667, 1e-12);
  // Adam from the same start takes another path: its first step is lr * sign(g) alone.
  config.nesterov = false;
  AdamW adam(config, {false});
  torch::Tensor x = torch::ones({1}, torch::kFloat64);
  adam.Step({x}, {first}, 0.1);
  EXPECT_NEAR(x.item<double>(), 0.9, 1e-9);  // up to epsilon
}

TEST(AdamWTest, NesterovFormMinimisesAQuadratic) {
  OptimizerConfig config;
  config.weight_decay = 0;
  config.nesterov = true;
  AdamW nadam(config, {false});
  torch::Tensor x = torch::full({3}, 5.0);
  for (int i = 0; i < 2000; ++i) nadam.Step({x}, {2 * (x - 1)}, 0.05);
  EXPECT_TRUE(torch::allclose(x, torch::ones({3}), 1e-2, 1e-2)) << x;
}

TEST(OptimizerTest, RunConfigWarmsUpOverFivePercentAndDecaysOnlyMatrices) {
  const OptimizerConfig config = ConfigForRun(2e-3, 400);
  EXPECT_EQ(config.learning_rate, 2e-3);
  EXPECT_EQ(config.warmup_steps, 20);
  EXPECT_EQ(config.total_steps, 400);
  EXPECT_EQ(ConfigForRun(1e-3, 10).warmup_steps, 1);
  EXPECT_EQ(DecayMatricesOnly({torch::zeros({4, 4}), torch::zeros({4}), torch::zeros({2, 3, 4})}),
            (std::vector<bool>{true, false, true}));
}

TEST(OptimizerTest, ClippingScalesTheJointNormDownAndLeavesSmallGradientsAlone) {
  // Joint norm of (3, 4) and (12) is 13; clipped to 1.3 every entry shrinks tenfold.
  std::vector<torch::Tensor> grads = {torch::tensor({3.0f, 4.0f}), torch::tensor({12.0f}),
                                      torch::Tensor()};
  EXPECT_NEAR(ClipGradientNorm(grads, 1.3), 13.0, 1e-5);
  EXPECT_NEAR(grads[0][1].item<float>(), 0.4f, 1e-5);
  EXPECT_NEAR(grads[1][0].item<float>(), 1.2f, 1e-5);
  EXPECT_FALSE(grads[2].defined());
  std::vector<torch::Tensor> small = {torch::tensor({0.3f, 0.4f})};
  EXPECT_NEAR(ClipGradientNorm(small, 1.0), 0.5, 1e-6);
  EXPECT_FLOAT_EQ(small[0][1].item<float>(), 0.4f);
}

}  // namespace
}  // namespace pipebench
