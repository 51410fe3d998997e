// Fuzz target: any experiment config is expanded into cells or rejected with an error naming the
// field, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "benchmarks/harness/experiment_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)pipebench::ParseExperimentConfig(text);
  return 0;
}
