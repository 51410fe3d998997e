#include "engine/util/json_text.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

struct TooDeep {
  std::size_t position;
};

// "line L, column C" of a 1-based byte position.
std::string Where(const std::string& text, std::size_t position) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < position && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::StrCat("line ", line, ", column ", column);
}

// nlohmann's message after its "[json.exception.parse_error.101] parse error at line 1, column 2: ".
std::string Reason(const std::string& what) {
  const std::size_t colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseJsonText(const std::string& text,
                                             const JsonTextOptions& options) {
  // The parser itself keeps its own stack; the cap protects the code that walks the result.
  std::size_t opened = 0;
  const nlohmann::json::parser_callback_t cap = [&](int depth, nlohmann::json::parse_event_t event,
                                                    nlohmann::json&) {
    if (event == nlohmann::json::parse_event_t::object_start ||
        event == nlohmann::json::parse_event_t::array_start) {
      ++opened;
      if (depth >= options.max_depth) throw TooDeep{opened};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, cap, /*allow_exceptions=*/true, options.allow_comments);
  } catch (const TooDeep&) {
    // Where the bracket that went too deep is: the max_depth+1-th opening bracket in a row.
    std::size_t depth = 0, position = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (c == '"' && !escaped) in_string = false;
        escaped = !escaped && c == '\\';
        continue;
      }
      if (c == '"') in_string = true;
      if (c == '[' || c == '{') {
        if (++depth > static_cast<std::size_t>(options.max_depth)) {
          position = i + 1;
          break;
        }
      } else if (c == ']' || c == '}') {
        --depth;
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(Where(text, position), ": nested deeper than ",
                                                   options.max_depth, " levels"));
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(Where(text, e.byte), ": ", Reason(e.what())));
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double is out_of_range, with no position.
    return absl::InvalidArgumentError(Reason(e.what()));
  }
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is a folder, not a file"));
  }
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read '", path, "': ",
                                            errno != 0 ? std::strerror(errno) : "not found"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace pipebench
