// Parsing JSON that a person wrote (configs, cost files, search spaces, model files, schedules):
// errors say where (line and column) and what, and nesting is capped, so a file of 70,000 opening
// brackets is an error message, not a stack overflow in the code that walks the result.
#ifndef PIPEBENCH_ENGINE_UTIL_JSON_TEXT_H_
#define PIPEBENCH_ENGINE_UTIL_JSON_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct JsonTextOptions {
  bool allow_comments = false;  // `//` and `/* */`, as experiment configs allow
  int max_depth = 64;           // nesting of arrays and objects
};

// InvalidArgument "line 3, column 14: syntax error while parsing object - unexpected ..." or
// "line 1, column 66: nested deeper than 64 levels".
absl::StatusOr<nlohmann::json> ParseJsonText(const std::string& text,
                                             const JsonTextOptions& options = {});

// The file's text, or NotFound / InvalidArgument naming `path` (missing, a directory, unreadable).
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_JSON_TEXT_H_
