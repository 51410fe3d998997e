#include "engine/schedule/registry.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pipebench {
namespace {

std::map<std::string, ScheduleFactory>& Schedules() {
  static auto* registry = new std::map<std::string, ScheduleFactory>();
  return *registry;
}

std::map<std::string, WeightRule>& WeightRules() {
  static auto* registry = new std::map<std::string, WeightRule>();
  return *registry;
}

template <typename Entry>
bool Register(std::map<std::string, Entry>& registry, const char* kind, const std::string& name,
              Entry entry) {
  if (name.empty() || name.find('+') != std::string::npos ||
      !registry.emplace(name, std::move(entry)).second) {
    std::fprintf(stderr, "%s '%s' registered twice or misnamed\n", kind, name.c_str());
    std::abort();
  }
  return true;
}

// A schedule with weight rules applied: its timeline is the base schedule's, its weight policy
// the rules' rewrite of the base's, computed once per model stage.
class RuledSchedule : public Schedule {
 public:
  RuledSchedule(std::string name, std::unique_ptr<Schedule> base,
                std::vector<WeightPolicy> policies)
      : Schedule(base->params(), base->placement()),
        name_(std::move(name)),
        base_(std::move(base)),
        policies_(std::move(policies)) {}

  std::string name() const override { return name_; }
  WeightPolicy weight_policy(int model_stage) const override { return policies_[model_stage]; }
  bool splits_backward() const override { return base_->splits_backward(); }
  bool plans_from_costs() const override { return base_->plans_from_costs(); }
  bool synchronous() const override { return base_->synchronous(); }
  int DriftBound(int rank) const override { return base_->DriftBound(rank); }
  std::unique_ptr<RankProgram> MakeProgram(int rank) const override {
    return base_->MakeProgram(rank);
  }

 private:
  std::string name_;
  std::unique_ptr<Schedule> base_;
  std::vector<WeightPolicy> policies_;
};

// `name` split at '+' (a schedule, then its weight rules), each part registered; else NotFound
// listing the known names.
absl::StatusOr<std::vector<std::string>> NameParts(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '+');
  bool known = Schedules().count(parts[0]) > 0;
  for (size_t i = 1; i < parts.size(); ++i) known = known && WeightRules().count(parts[i]) > 0;
  if (known) return parts;
  return absl::NotFoundError(absl::StrCat(
      "unknown schedule '", name, "'; known schedules: ",
      absl::StrJoin(RegisteredSchedules(), ", "), "; weight rules (added as schedule+rule): ",
      absl::StrJoin(RegisteredWeightRules(), ", ")));
}

}  // namespace

bool RegisterSchedule(const std::string& name, ScheduleFactory factory) {
  return Register(Schedules(), "schedule", name, std::move(factory));
}

bool RegisterWeightRule(const std::string& name, WeightRule rule) {
  return Register(WeightRules(), "weight rule", name, std::move(rule));
}

absl::Status CheckScheduleName(const std::string& name) { return NameParts(name).status(); }

absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       const ScheduleParams& params) {
  absl::StatusOr<std::vector<std::string>> named = NameParts(name);
  if (!named.ok()) return named.status();
  if (absl::Status status = ValidateCommonParams(params); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", status.message()));
  }
  const std::vector<std::string>& parts = *named;
  absl::StatusOr<std::unique_ptr<Schedule>> schedule = Schedules().at(parts[0])(params);
  if (!schedule.ok() || parts.size() == 1) return schedule;
  std::vector<WeightPolicy> policies;
  for (int stage = 0; stage < params.model_stages(); ++stage) {
    WeightPolicy policy = (*schedule)->weight_policy(stage);
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::StatusOr<WeightPolicy> ruled = WeightRules().at(parts[i])(**schedule, policy);
      if (!ruled.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": weight rule '", parts[i], "': ", ruled.status().message()));
      }
      policy = *std::move(ruled);
    }
    policies.push_back(std::move(policy));
  }
  return std::unique_ptr<Schedule>(
      std::make_unique<RuledSchedule>(name, *std::move(schedule), std::move(policies)));
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       ScheduleParams params,
                                                       const CostModel& costs) {
  params.costs = std::make_shared<const CostModel>(costs);
  return MakeSchedule(name, params);
}

std::vector<std::string> RegisteredSchedules() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Schedules()) names.push_back(name);
  return names;
}

std::vector<std::string> RegisteredWeightRules() {
  std::vector<std::string> names;
  for (const auto& [name, rule] : WeightRules()) names.push_back(name);
  return names;
}

}  // namespace pipebench
