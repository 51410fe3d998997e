// Schedules by name. Each schedule's own file registers it:
//
//   PIPEBENCH_REGISTER_SCHEDULE("gpipe", MakeGPipe);
//
// and its cc_library sets alwayslink = 1 so the registration survives linking. Adding a schedule is
// one new file plus one line in engine/schedule/schedules.bzl.
//
// A weight rule changes how any schedule's stages update their weights, not when they run; it is
// named after a '+': "paci+nesterov" is PACI with the Nesterov look-ahead rule. A rule's file
// registers it the same way:
//
//   PIPEBENCH_REGISTER_WEIGHT_RULE("nesterov", ApplyNesterovLookAhead);
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

// Rewrites `policy`, the weight policy `schedule` gives one of its model stages; an error says
// why the rule does not apply to this schedule.
using WeightRule = std::function<absl::StatusOr<WeightPolicy>(const Schedule& schedule,
                                                              WeightPolicy policy)>;

// Registers `factory` under `name`; returns true so it can initialize a static. Aborts on a
// duplicate or malformed name ('+' separates rules), since that is a build mistake.
bool RegisterSchedule(const std::string& name, ScheduleFactory factory);
bool RegisterWeightRule(const std::string& name, WeightRule rule);

// Validates the common parameters, then builds the named schedule: a registered schedule,
// optionally followed by "+rule" for each weight rule applied to it, in order. NotFound lists the
// known names.
absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       const ScheduleParams& params);

// As above, with `costs` as the costs schedules that plan from costs (zb_1p, zb_2p) plan from:
// the run's measured costs, a cost file or flags.
absl::StatusOr<std::unique_ptr<Schedule>> MakeSchedule(const std::string& name,
                                                       ScheduleParams params,
                                                       const CostModel& costs);

// OK when `name` names a registered schedule with registered rules (without building it, so
// configs can be checked before their parameters are known); NotFound lists the known names.
absl::Status CheckScheduleName(const std::string& name);

// Sorted names of every registered schedule, and of every weight rule.
std::vector<std::string> RegisteredSchedules();
std::vector<std::string> RegisteredWeightRules();

}  // namespace pipebench

#define PIPEBENCH_REGISTER_SCHEDULE(name, factory)                                   \
  static const bool PIPEBENCH_SCHEDULE_REGISTERED_##factory [[maybe_unused]] = \
      ::pipebench::RegisterSchedule(name, factory)

#define PIPEBENCH_REGISTER_WEIGHT_RULE(name, rule)                             \
  static const bool PIPEBENCH_WEIGHT_RULE_REGISTERED_##rule [[maybe_unused]] = \
      ::pipebench::RegisterWeightRule(name, rule)

#endif  // PIPEBENCH_ENGINE_SCHEDULE_REGISTRY_H_
