// Fuzz target: any search-space file is a space or an error naming the field, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "nas/entangled/supernet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<pipebench::SearchSpace> space = pipebench::ParseSearchSpace(text, 65);
  if (space.ok()) (void)space->max_layers();
  return 0;
}
