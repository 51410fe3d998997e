#include "engine/model/dataset.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/util/status_macros.h"
#include "engine/util/sha256.h"
#include "engine/util/workspace.h"

namespace pipebench {
namespace {

// Splits 90/10 into train and validation.
void Split(const std::vector<std::int64_t>& tokens, std::vector<std::int64_t>* train,
           std::vector<std::int64_t>* validation) {
  const std::size_t cut = tokens.size() * 9 / 10;
  train->assign(tokens.begin(), tokens.begin() + cut);
  validation->assign(tokens.begin() + cut, tokens.end());
}

std::uint64_t MixSeed(std::uint64_t seed, std::int64_t index, std::uint64_t stream) {
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                         static_cast<std::uint32_t>(index),
                         static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32),
                         static_cast<std::uint32_t>(stream)};
  std::array<std::uint32_t, 2> out;
  sequence.generate(out.begin(), out.end());
  return (std::uint64_t(out[0]) << 32) | out[1];
}

}  // namespace

absl::StatusOr<std::string> ResolveDataPath(const std::string& spec) {
  if (spec == "synthetic") return spec;
  if (spec != kTinyShakespeare) return ResolvePath(spec);
  const std::string file = RunfilePath("external/tinyshakespeare/input.txt");
  if (access(file.c_str(), R_OK) == 0) return file;
  std::ifstream missing(RunfilePath("external/tinyshakespeare/MISSING.txt"));
  if (missing) {
    std::stringstream text;
    text << missing.rdbuf();
    return absl::FailedPreconditionError(absl::StripTrailingAsciiWhitespace(text.str()));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "TinyShakespeare (sha256 ", kTinyShakespeareSha256,
      ") is not in this program's runfiles: run it with `bazel run`, or pass --data=PATH"));
}

absl::StatusOr<TokenDataset> LoadTokenData(const std::string& spec) {
  if (spec == "synthetic") return TokenDataset::Synthetic(16, 200000, 1);
  PB_ASSIGN_OR_RETURN(const std::string path, ResolveDataPath(spec));
  const bool tinyshakespeare =
      spec == kTinyShakespeare || absl::EndsWith(path, "tinyshakespeare/input.txt");
  return TokenDataset::FromTextFile(path, tinyshakespeare ? kTinyShakespeareSha256 : "");
}

absl::Status VerifyTinyShakespeare(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("data file '", path, "' not found"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string actual = Sha256Hex(buffer.str());
  if (actual != kTinyShakespeareSha256) {
    return absl::DataLossError(absl::StrCat("data file '", path, "' is not TinyShakespeare: sha256 ",
                                            actual, ", expected ", kTinyShakespeareSha256));
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenDataset> TokenDataset::FromTextFile(const std::string& path,
                                                        const std::string& expected_sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "data file '", path, "' not found (--data takes a text file, 'synthetic', or '",
        kTinyShakespeare, "' for the file the build fetches)"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (!expected_sha256.empty()) {
    const std::string actual = Sha256Hex(text);
    if (actual != expected_sha256) {
      return absl::DataLossError(absl::StrCat("data file '", path, "' has sha256 ", actual,
                                              ", expected ", expected_sha256));
    }
  }
  if (text.size() < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("data file '", path, "' has only ", text.size(), " bytes"));
  }
  std::array<int, 256> index;
  index.fill(-1);
  for (unsigned char c : text) index[c] = 0;
  int vocab = 0;
  for (int& slot : index) {
    if (slot == 0) slot = vocab++;
  }
  std::vector<std::int64_t> tokens;
  tokens.reserve(text.size());
  for (unsigned char c : text) tokens.push_back(index[c]);
  TokenDataset dataset;
  dataset.name_ = path;
  dataset.vocab_size_ = vocab;
  Split(tokens, &dataset.train_, &dataset.validation_);
  return dataset;
}

TokenDataset TokenDataset::Synthetic(int vocab_size, int length, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Each symbol prefers three successors with weights 6:3:1 (0.90 nats per token at best).
  std::vector<std::array<int, 3>> successors(vocab_size);
  std::uniform_int_distribution<int> symbol(0, vocab_size - 1);
  for (auto& next : successors) {
    for (int& s : next) s = symbol(rng);
  }
  std::discrete_distribution<int> pick({6, 3, 1});
  std::vector<std::int64_t> tokens = {0};
  tokens.reserve(length);
  while (static_cast<int>(tokens.size()) < length) {
    tokens.push_back(successors[tokens.back()][pick(rng)]);
  }
  TokenDataset dataset;
  dataset.name_ = absl::StrCat("synthetic(vocab=", vocab_size, ", seed=", seed, ")");
  dataset.vocab_size_ = vocab_size;
  Split(tokens, &dataset.train_, &dataset.validation_);
  return dataset;
}

TokenBatch TokenDataset::Sample(const std::int64_t* tokens, std::size_t size, int batch,
                                int context, std::uint64_t seed, std::int64_t index) const {
  std::mt19937_64 rng(MixSeed(seed, index, size));
  std::uniform_int_distribution<std::int64_t> start(0, static_cast<std::int64_t>(size) - context - 1);
  torch::Tensor window = torch::empty({batch, context + 1}, torch::kInt64);
  auto* out = window.data_ptr<std::int64_t>();
  for (int b = 0; b < batch; ++b) {
    const std::int64_t first = start(rng);
    std::copy(tokens + first, tokens + first + context + 1,
              out + static_cast<std::int64_t>(b) * (context + 1));
  }
  return {window.narrow(1, 0, context).contiguous(), window.narrow(1, 1, context).contiguous()};
}

TokenBatch TokenDataset::TrainBatch(int batch, int context, std::uint64_t seed,
                                    std::int64_t index) const {
  return Sample(train_.data(), train_.size(), batch, context, seed, index);
}

TokenBatch TokenDataset::TrainPartBatch(double portion, bool second_part, int batch, int context,
                                        std::uint64_t seed, std::int64_t index) const {
  const std::size_t cut = static_cast<std::size_t>(train_.size() * portion);
  return second_part ? Sample(train_.data() + cut, train_.size() - cut, batch, context, seed,
                              2 * index + 1)
                     : Sample(train_.data(), cut, batch, context, seed, 2 * index);
}

TokenBatch TokenDataset::ValidationBatch(int batch, int context, std::uint64_t seed,
                                         std::int64_t index) const {
  return Sample(validation_.data(), validation_.size(), batch, context, seed, index);
}

TokenBatch TokenDataset::ValidationWindows(std::int64_t first, int count, int context) const {
  torch::Tensor window = torch::empty({count, context + 1}, torch::kInt64);
  auto* out = window.data_ptr<std::int64_t>();
  for (int w = 0; w < count; ++w) {
    const std::int64_t* start = validation_.data() + (first + w) * context;
    std::copy(start, start + context + 1, out + static_cast<std::int64_t>(w) * (context + 1));
  }
  return {window.narrow(1, 0, context).contiguous(), window.narrow(1, 1, context).contiguous()};
}

}  // namespace pipebench
