// Fuzz target: any text given as a hand-written schedule is parsed or rejected, and a parsed one
// simulates or fails with an error (a deadlock, an action out of order), never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/schedule/custom_schedule.h"
#include "engine/sim/cost_model.h"
#include "engine/sim/simulator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto schedule = pipebench::ParseCustomSchedule(text);
  if (!schedule.ok()) return 0;
  const pipebench::ScheduleParams& params = (*schedule)->params();
  // Simulating is linear in the actions; bound the work one input can ask for.
  if (static_cast<long long>(params.model_stages()) * params.total_microbatches() > 100000) {
    return 0;
  }
  (void)pipebench::Simulate(**schedule, pipebench::CostModel());
  return 0;
}
