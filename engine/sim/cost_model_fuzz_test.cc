// Fuzz target: any bytes given as a cost file are a cost model or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/sim/cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<pipebench::CostModel> costs = pipebench::ParseCostModelJson(text);
  if (costs.ok()) {
    // A parsed model is usable: its stages can be looked up and validated for any count.
    for (int stages = 1; stages <= 4; ++stages) (void)costs->Validate(stages);
    (void)pipebench::CostModelToJson(*costs);
  }
  return 0;
}
