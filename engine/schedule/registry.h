// Schedules by name. Each schedule's own file registers it:
//
//   PIPEBENCH_REGISTER_SCHEDULE("gpipe", MakeGPipe);
//
// and its cc_library sets alwayslink = 1 so the registration survives linking. Adding a schedule is
// one new file plus one line in engine/schedule/schedules.bzl.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_REGISTRY_H_
#define PIPEBENCH_ENGINE_SCHEDULE_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/schedule/params.h"
#include "engine/schedule/schedule.h"

namespace pipebench {

using ScheduleFactory =
    std::function<absl::StatusOr<std::unique_ptr<Schedule>>(const ScheduleParams&)>;

// Registers `factory` under `name`; returns true so it can initialize a static. Aborts on a
// duplicate name, since that is a build mistake.
bool RegisterSchedule(const std::string& name, ScheduleFactory factory);

// Validates the common parameters, then builds the named schedule. NotFound lists known names.
absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       const ScheduleParams& params);

// Sorted names of every registered schedule.
std::vector<std::string> RegisteredSchedules();

}  // namespace pipebench

#define PIPEBENCH_REGISTER_SCHEDULE(name, factory)                                   \
  static const bool PIPEBENCH_SCHEDULE_REGISTERED_##factory [[maybe_unused]] = \
      ::pipebench::RegisterSchedule(name, factory)

#endif  // PIPEBENCH_ENGINE_SCHEDULE_REGISTRY_H_
