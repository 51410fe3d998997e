#include "engine/schedule/weight_policy.h"

#include "absl/strings/str_cat.h"

namespace pipebench {

std::string WeightPolicy::Describe() const {
  std::string text = stash ? "stashed" : "one copy";
  if (max_versions > 0) absl::StrAppend(&text, ", at most ", max_versions, " versions");
  if (backward_extrapolation > 0) {
    absl::StrAppend(&text, ", backward extrapolated ", backward_extrapolation, " updates");
  }
  if (nesterov_beta1 > 0) absl::StrAppend(&text, ", Nesterov look-ahead (beta1 ", nesterov_beta1, ")");
  if (learning_rate_scale) absl::StrAppend(&text, ", scaled learning rate");
  return text;
}

}  // namespace pipebench
