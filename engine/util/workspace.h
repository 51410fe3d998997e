// Where relative paths given on the command line are resolved: the source tree under `bazel run`
// ($BUILD_WORKSPACE_DIRECTORY), the current directory otherwise.
#ifndef PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_
#define PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_

#include <unistd.h>

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

// The running binary's path ("" if /proc cannot tell).
inline std::string SelfExecutable() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return std::string(self, n > 0 ? n : 0);
}

// A file this binary's build ships with it (a `data` dependency), by its workspace-relative path:
// from the runfiles tree of the running binary or test, else from the build output next to it.
inline std::string RunfilePath(const std::string& relative) {
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(variable)) {
      const std::string path = std::string(dir) + "/pipebench/" + relative;
      if (access(path.c_str(), R_OK) == 0) return path;
    }
  }
  const std::string exe = SelfExecutable();
  const std::string runfiles = exe + ".runfiles/pipebench/" + relative;
  if (access(runfiles.c_str(), R_OK) == 0) return runfiles;
  // bazel-bin/<package>/<binary> -> bazel-bin/<relative>
  const std::string::size_type bin = exe.find("/bin/");
  return bin == std::string::npos ? relative : exe.substr(0, bin + 5) + relative;
}

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_WORKSPACE_H_
