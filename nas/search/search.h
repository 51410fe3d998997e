// Architecture search over a weight-entangled supernet, and the baselines it is judged against.
//
// Gradient methods (DARTS, DrNAS, GDAS): first-order alternating updates, the architecture
// parameters alpha on one part of the training split (with their own Adam) and the supernet
// weights on the other, the mixing weights drawn afresh by the sampler each time. The derived
// architecture is the argmax of alpha per decision.
//
// SPOS trains the supernet on uniformly sampled single paths only, then searches architectures by
// their loss on the architecture part with inherited weights, twice with the same budget of
// `search_candidates` evaluations: random search, and regularised evolution (tournament of 8,
// one-decision mutations, oldest out). Each gives a derived architecture ("spos+random",
// "spos+evolution").
//
// The random-architecture baseline ("random") has no supernet: `random_architectures` sampled
// networks are each trained from scratch on the weight part for steps / random_architectures
// steps - the same total budget - and the one with the lowest loss on the architecture part wins.
//
// Every method records an any-time curve: its then-derived architecture's validation loss with
// the weights it has at that moment, against the method's own search time (the curve's
// evaluations are not counted in it).
#ifndef PIPEBENCH_NAS_SEARCH_SEARCH_H_
#define PIPEBENCH_NAS_SEARCH_SEARCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/dataset.h"
#include "nas/entangled/supernet.h"
#include "nas/samplers/architecture_sampler.h"
#include "nas/search/preset.h"
#include "nlohmann/json.hpp"

namespace pipebench {

// A search method: a sampler, or std::nullopt for the random-architecture baseline.
using SearchMethod = std::optional<SamplerKind>;
// "darts", "darts_sparsemax", "drnas", "gdas", "spos" or "random".
absl::StatusOr<SearchMethod> ParseSearchMethod(const std::string& name);
std::string SearchMethodName(const SearchMethod& method);

struct SearchOptions {
  SearchMethod method = SamplerKind::kDrnas;
  int steps = 100;
  int batch_size = 8;
  std::uint64_t seed = 0;
  double train_portion = 0.5;  // weights train on the first part, alpha on the rest
  NasPreset preset;            // optimisers, dropout, tying, GDAS temperature
  // kSeparate is the weight-sharing baseline: the same search over one weight per choice.
  WeightStorage storage = WeightStorage::kEntangled;
  AttentionMode attention = AttentionMode::kExact;
  int search_candidates = 32;    // SPOS: architectures each of its searches evaluates
  int random_architectures = 8;  // the random baseline's sample
  int checkpoints = 10;          // any-time points of a gradient search
  int evaluation_batches = 4;    // batches per selection or any-time loss
};

// The network options a search with `options` builds.
SupernetOptions NetworkOptions(const SearchOptions& options);

struct SearchStep {
  int step = 0;
  double weight_loss = 0;
  double arch_loss = 0;                 // 0 for SPOS
  nlohmann::json alpha_distributions;   // softmax(alpha) per decision (gradient methods)
};

struct AnytimePoint {
  double seconds = 0;  // the method's search time so far
  int step = 0;        // supernet steps so far (or training steps, for the random baseline)
  nlohmann::json architecture;
  double val_loss = 0;  // with the weights it has then (inherited, or its own for "random")
};

struct DerivedArchitecture {
  std::string method;  // "drnas", "spos+random", "spos+evolution", "random", ...
  Architecture architecture;
  nlohmann::json architecture_json;
  std::int64_t parameters = 0;
  std::optional<GptNetwork> network;  // its weights at the end of the search
  std::vector<AnytimePoint> curve;
  double search_seconds = 0;  // this method's search time, evaluations for the curve excluded
};

struct SearchResult {
  std::vector<DerivedArchitecture> derived;  // one per method (SPOS: random, then evolution)
  std::int64_t supernet_parameters = 0;      // 0 for the random baseline
  std::vector<SearchStep> steps;             // supernet steps (none for the random baseline)
};

// Argmax of each row of the architecture parameters.
Architecture ArgmaxArchitecture(const SearchSpace& space, const MixingWeights& alpha);
// softmax(alpha) per decision: {"embed": [...], "layers": [...], "heads": [[...] per layer],
// "mlp_ratio": [[...] per layer]}.
nlohmann::json AlphaDistributions(const MixingWeights& alpha);
nlohmann::json ArchitectureToJson(const SearchSpace& space, const Architecture& arch);

absl::StatusOr<SearchResult> RunSearch(const SearchSpace& space, const TokenDataset& data,
                                       const SearchOptions& options,
                                       const std::function<void(const SearchStep&)>& on_step = {});

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_SEARCH_H_
