#include "engine/schedule/registry.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {
namespace {

std::map<std::string, ScheduleFactory>& Registry() {
  static auto* registry = new std::map<std::string, ScheduleFactory>();
  return *registry;
}

}  // namespace

bool RegisterSchedule(const std::string& name, ScheduleFactory factory) {
  if (!Registry().emplace(name, std::move(factory)).second) {
    std::fprintf(stderr, "schedule '%s' registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       const ScheduleParams& params) {
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    return absl::NotFoundError(absl::StrCat("unknown schedule '", name, "'; known schedules: ",
                                            absl::StrJoin(RegisteredSchedules(), ", ")));
  }
  if (absl::Status status = ValidateCommonParams(params); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", status.message()));
  }
  return it->second(params);
}

std::vector<std::string> RegisteredSchedules() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

}  // namespace pipebench
