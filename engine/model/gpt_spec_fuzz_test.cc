// Fuzz target: any --model text is a valid GPT shape or an error naming the key, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/model/gpt.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<pipebench::GptConfig> model = pipebench::ParseGptConfig(text, 65);
  if (model.ok()) {
    (void)model->Validate();
    (void)model->Describe();
  }
  return 0;
}
