// Gradient-based search over a weight-entangled supernet: first-order alternating updates, the
// architecture parameters alpha on one part of the training split (with their own Adam) and the
// supernet weights on the other, the mixing weights drawn afresh by the chosen sampler each time.
// SPOS trains the supernet on uniformly sampled single paths only, then searches architectures by
// their loss on the architecture part with inherited weights: random search over
// `search_candidates` architectures, and regularised evolution with the same budget (tournament
// of 8, one-decision mutations, oldest out); the derived architecture is evolution's winner.
//
// The derived architecture is the argmax of alpha per decision (for SPOS, the search's winner).
#ifndef PIPEBENCH_NAS_SEARCH_SEARCH_H_
#define PIPEBENCH_NAS_SEARCH_SEARCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/dataset.h"
#include "nas/entangled/supernet.h"
#include "nas/samplers/architecture_sampler.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct SearchOptions {
  SamplerKind optimizer = SamplerKind::kDrnas;
  int steps = 100;
  int batch_size = 8;
  std::uint64_t seed = 0;
  double train_portion = 0.5;  // weights train on the first part, alpha on the rest
  double weight_lr = 1e-3;
  double arch_lr = 3e-4;       // TangleNAS: Adam, betas (0.5, 0.999), weight decay 1e-3
  int search_candidates = 32;  // SPOS: architectures each of its searches evaluates
  // kSeparate is the weight-sharing baseline: the same search over one weight per choice.
  WeightStorage storage = WeightStorage::kEntangled;
};

struct SearchStep {
  int step = 0;
  double weight_loss = 0;
  double arch_loss = 0;                 // 0 for SPOS
  nlohmann::json alpha_distributions;   // softmax(alpha) per decision, for any-time curves
};

struct SearchResult {
  Architecture derived;
  // The derived architecture as a standalone network with the supernet's trained weights.
  std::optional<DerivedGpt> derived_network;
  // SPOS only: the best architecture of each search and its architecture-part loss.
  nlohmann::json spos_searches;
  nlohmann::json derived_json;  // the derived choices by value
  std::int64_t supernet_parameters = 0;
  std::vector<SearchStep> steps;
  double search_seconds = 0;
};

// Argmax of each row of the architecture parameters.
Architecture ArgmaxArchitecture(const SearchSpace& space, const MixingWeights& alpha);
nlohmann::json ArchitectureToJson(const SearchSpace& space, const Architecture& arch);

absl::StatusOr<SearchResult> RunSearch(const SearchSpace& space, const TokenDataset& data,
                                       const SearchOptions& options,
                                       const std::function<void(const SearchStep&)>& on_step = {});

}  // namespace pipebench

#endif  // PIPEBENCH_NAS_SEARCH_SEARCH_H_
