// Where relative paths are resolved. A path the user typed on a command line is theirs: under
// `bazel run`, a file to read is taken from the directory they called it in
// ($BUILD_WORKING_DIRECTORY) when it is there, and a file to write goes there when its folder is,
// as with any command-line tool; otherwise both come from the source tree
// ($BUILD_WORKSPACE_DIRECTORY), so the repository's own paths (configs/...) work from any
// subdirectory. Paths the repository itself holds (a default like runs/<experiment>, a path inside
// a committed config) are always from the source tree. Outside `bazel run`, the current directory.
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

// A path the repository holds: from the source tree.
inline std::string RepositoryPath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return WorkspaceRoot() + "/" + path;
}

namespace workspace_internal {
inline std::string FromWhereCalled(const std::string& path, bool output) {
  if (path.empty() || path[0] == '/') return path;
  if (const char* called_in = std::getenv("BUILD_WORKING_DIRECTORY")) {
    const std::string here = std::string(called_in) + "/" + path;
    const std::string must_exist = output ? here.substr(0, here.rfind('/')) : here;
    if (access(must_exist.c_str(), F_OK) == 0) return here;
  }
  return RepositoryPath(path);
}
}  // namespace workspace_internal

// A file to read, named on a command line.
inline std::string ResolvePath(const std::string& path) {
  return workspace_internal::FromWhereCalled(path, /*output=*/false);
}

// A file or folder to write, named on a command line.
inline std::string ResolveOutputPath(const std::string& path) {
  return workspace_internal::FromWhereCalled(path, /*output=*/true);
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
