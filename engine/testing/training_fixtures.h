// Test-only helpers for code that trains: a tiny GPT, a synthetic language it can learn in a few
// dozen steps, and executor options that train it quickly and deterministically.
#ifndef PIPEBENCH_ENGINE_TESTING_TRAINING_FIXTURES_H_
#define PIPEBENCH_ENGINE_TESTING_TRAINING_FIXTURES_H_

#include "engine/exec/executor.h"
#include "engine/model/dataset.h"
#include "engine/model/gpt.h"

namespace pipebench::testing {

// `layers` blocks of width 16 with 2 heads over a 16-symbol vocabulary and a context of 8.
GptConfig TinyModel(int layers = 4);

// 20,000 tokens of a 16-symbol synthetic language (TokenDataset::Synthetic, seed 11), built once.
const TokenDataset& SyntheticData();

// Micro-batches of 4 sequences, seed 3, AdamW at 3e-3 warming up over 2 steps with a cosine
// horizon of 100, 64 validation tokens per evaluation.
ExecutorOptions TinyTrainingOptions(const GptConfig& model = TinyModel());

}  // namespace pipebench::testing

#endif  // PIPEBENCH_ENGINE_TESTING_TRAINING_FIXTURES_H_
