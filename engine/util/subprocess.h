// Child processes, written once for every supervisor in the tree: the launcher's ranks, the
// harness's isolated cells and report script, launched runs of distributed cells, the manifest's
// commands. A child can get its own process group (so a kill reaches whatever it starts in turn),
// dies with its parent (so killing a supervisor, even with SIGKILL, leaves no orphan), and writes
// its output to a file.
//
// "Dies with its parent" is PR_SET_PDEATHSIG, which fires when the *thread* that started the
// child ends: start children from a thread that outlives them (every caller here uses its main
// thread).
#ifndef PIPEBENCH_ENGINE_UTIL_SUBPROCESS_H_
#define PIPEBENCH_ENGINE_UTIL_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pipebench {

struct SubprocessOptions {
  // Set in the child's environment, on top of this process's.
  std::vector<std::pair<std::string, std::string>> environment;
  // The child's standard output and error go to these files (truncated; one file when both name
  // it); empty: inherited.
  std::string stdout_path;
  std::string stderr_path;
  // A new process group led by the child: Signal and Kill reach its own children too.
  bool own_process_group = true;
  // The file executed; empty: argv[0]. The harness runs "/proc/self/exe" so that a rebuild during
  // a long run cannot change the code its cells run.
  std::string executable;
};

// "exited with status 3", "was killed by signal 9", "could not be waited for".
std::string DescribeWaitStatus(int wait_status);
// The child exited by itself with status 0.
bool ExitedCleanly(int wait_status);

class Subprocess {
 public:
  // Errors: fork failed, or an output file cannot be opened (named). A program that cannot be
  // executed exits with status 127 after naming itself on its standard error.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                          const SubprocessOptions& options = {});

  // The wait status of a child that could not be waited for (another part of the process reaped
  // it): a failure, never mistaken for exit status 0.
  static constexpr int kLostChild = -1;

  Subprocess() = default;  // no process; Start returns a running one
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills and reaps a child still running: no supervisor leaves one behind.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // The wait status once the child has exited (it is reaped then); nullopt while it runs.
  std::optional<int> Poll();
  int Wait();
  // Sends `signal` to the child (and its group, when it has its own).
  void Signal(int signal);
  // SIGKILL, then waits.
  int Kill();

 private:
  Subprocess(pid_t pid, bool group) : pid_(pid), group_(group) {}
  pid_t pid_ = -1;
  bool group_ = false;
  std::optional<int> status_;
};

// Blocks until one of `children` exits or `timeout` passes, whichever comes first; a child that has
// exited already (or none given) returns at once. Reaps nothing: Poll then says which exited. Woken
// by the exit itself (a pidfd per child), so a supervisor of several children sees them exit in the
// order they do, not a polling period later; where pidfds are missing (Linux < 5.3) it wakes
// every 10 ms instead.
void WaitForAnyExit(const std::vector<Subprocess*>& children, absl::Duration timeout);

struct CompletedProcess {
  int wait_status = 0;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
  bool ok() const;  // exited with status 0 in time
};

// Runs `argv` to completion with its output captured; past `timeout` its process group is killed
// and `timed_out` set.
absl::StatusOr<CompletedProcess> RunToCompletion(
    const std::vector<std::string>& argv, const SubprocessOptions& options = {},
    absl::Duration timeout = absl::InfiniteDuration());

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_SUBPROCESS_H_
