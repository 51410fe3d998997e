// Character-level token streams for language-model training: TinyShakespeare read from disk (its
// checksum verified) or a synthetic language generated from a seed for fast tests.
//
// Micro-batch j of a run is a pure function of (seed, j), so every schedule trains on exactly the
// same micro-batches in the same order.
#ifndef PIPEBENCH_ENGINE_MODEL_DATASET_H_
#define PIPEBENCH_ENGINE_MODEL_DATASET_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pipebench {

// Published checksum of TinyShakespeare's input.txt (1,115,394 bytes).
inline constexpr char kTinyShakespeareSha256[] =
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

// The name by which configs and command lines ask for TinyShakespeare: the file the build
// fetches into the @tinyshakespeare repository (third_party/data), checksummed.
inline constexpr char kTinyShakespeare[] = "tinyshakespeare";

class TokenDataset;

// Where the data named by `spec` is, without reading it: "synthetic" stays "synthetic";
// "tinyshakespeare" is the build's @tinyshakespeare file in this program's runfiles; anything else
// is a file path, relative ones resolved from the repository root. When the build could not
// provide TinyShakespeare (no mirror, no network) this fails with FailedPrecondition and the
// build's message: the file, its checksum and the three ways to provide it.
absl::StatusOr<std::string> ResolveDataPath(const std::string& spec);

// The data a command line names (see ResolveDataPath): the synthetic language (16 symbols, seed
// 1) or a text file. TinyShakespeare's checksum is verified, whichever path it is read from.
absl::StatusOr<TokenDataset> LoadTokenData(const std::string& spec);

// Whether `path` (a file) has TinyShakespeare's checksum; errors name the path and both checksums.
absl::Status VerifyTinyShakespeare(const std::string& path);

struct TokenBatch {
  torch::Tensor inputs;   // [batch, context] int64
  torch::Tensor targets;  // [batch, context] int64, inputs shifted by one
};

class TokenDataset {
 public:
  // Reads a text file as characters; the vocabulary is its sorted distinct bytes. The first 90% is
  // the training split, the rest validation. With `expected_sha256` empty no checksum is checked.
  static absl::StatusOr<TokenDataset> FromTextFile(const std::string& path,
                                                   const std::string& expected_sha256);

  // A quickly learnable synthetic language: a Markov chain over `vocab_size` symbols in which
  // every symbol has three likely successors, drawn from `seed`.
  static TokenDataset Synthetic(int vocab_size, int length, std::uint64_t seed);

  int vocab_size() const { return vocab_size_; }
  std::int64_t train_size() const { return static_cast<std::int64_t>(train_.size()); }
  std::int64_t validation_size() const { return static_cast<std::int64_t>(validation_.size()); }
  const std::string& name() const { return name_; }

  // `batch` random windows of `context` + 1 tokens from the training split, chosen by
  // (seed, index) alone.
  TokenBatch TrainBatch(int batch, int context, std::uint64_t seed, std::int64_t index) const;
  // Like TrainBatch, from one part of the training split cut at `portion`: the first part when
  // `second_part` is false, else the rest (NAS trains weights and architecture on disjoint parts).
  TokenBatch TrainPartBatch(double portion, bool second_part, int batch, int context,
                            std::uint64_t seed, std::int64_t index) const;
  // Like TrainBatch, from the validation split.
  TokenBatch ValidationBatch(int batch, int context, std::uint64_t seed, std::int64_t index) const;
  // The validation split's first tokens cut into consecutive, non-overlapping windows of
  // `context`: windows [first, first + count). A fixed evaluation set, the same for every run and
  // seed. Requires ValidationWindowCount(context) >= first + count.
  TokenBatch ValidationWindows(std::int64_t first, int count, int context) const;
  // How many such windows the validation split holds.
  std::int64_t ValidationWindowCount(int context) const {
    return validation_.empty() ? 0 : (static_cast<std::int64_t>(validation_.size()) - 1) / context;
  }

 private:
  // Windows from tokens[0, size).
  TokenBatch Sample(const std::int64_t* tokens, std::size_t size, int batch, int context,
                    std::uint64_t seed, std::int64_t index) const;

  std::string name_;
  int vocab_size_ = 0;
  std::vector<std::int64_t> train_;
  std::vector<std::int64_t> validation_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_DATASET_H_
