#include "engine/testing/training_fixtures.h"

namespace pipebench::testing {

GptConfig TinyModel(int layers) {
  GptConfig model;
  model.vocab_size = 16;
  model.layers = layers;
  model.embed = 16;
  model.heads = 2;
  model.mlp_ratio = 2;
  model.context = 8;
  return model;
}

const TokenDataset& SyntheticData() {
  static const TokenDataset* data = new TokenDataset(TokenDataset::Synthetic(16, 20000, 11));
  return *data;
}

ExecutorOptions TinyTrainingOptions(const GptConfig& model) {
  ExecutorOptions options;
  options.model = std::make_shared<const GptModel>(model);
  options.micro_batch_size = 4;
  options.seed = 3;
  options.optimizer.learning_rate = 3e-3;
  options.optimizer.warmup_steps = 2;
  options.optimizer.total_steps = 100;
  options.eval_tokens = 64;
  return options;
}

}  // namespace pipebench::testing
