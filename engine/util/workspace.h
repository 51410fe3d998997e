// Where relative paths given on the command line are resolved: the source tree under `bazel run`
// ($BUILD_WORKSPACE_DIRECTORY), the current directory otherwise.
#ifndef PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_
#define PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_

#include <cstdlib>
#include <string>

namespace pipebench {

inline std::string WorkspaceRoot() {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return workspace != nullptr ? workspace : ".";
}

// Absolute paths pass through; relative ones are taken from WorkspaceRoot().
inline std::string ResolvePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return WorkspaceRoot() + "/" + path;
}

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_
