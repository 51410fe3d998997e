// Where relative paths given on the command line are resolved. Under `bazel run`, from the
// directory the user called it in ($BUILD_WORKING_DIRECTORY) when the path - or, for a file to be
// written, its folder - is there, as any command-line tool would; otherwise from the source tree
// ($BUILD_WORKSPACE_DIRECTORY), where the repository's own paths (configs/..., runs/...) live, so
// they work from any subdirectory. Outside `bazel run`, from the current directory.
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

inline std::string ResolvePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  if (const char* called_in = std::getenv("BUILD_WORKING_DIRECTORY")) {
    const std::string here = std::string(called_in) + "/" + path;
    const std::string folder = here.substr(0, here.rfind('/'));
    if (access(here.c_str(), F_OK) == 0 || access(folder.c_str(), F_OK) == 0) return here;
  }
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
