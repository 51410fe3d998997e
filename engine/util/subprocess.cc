#include "engine/util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace pipebench {
namespace {

std::string ReadWhole(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

// A temporary file's path; the file exists (empty) until removed.
absl::StatusOr<std::string> TemporaryFile() {
  char path[] = "/tmp/pipebench_subprocess_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return absl::InternalError("cannot create a temporary file in /tmp");
  close(fd);
  return std::string(path);
}

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (wait_status == Subprocess::kLostChild) return "could not be waited for";
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("was killed by signal ", WTERMSIG(wait_status));
  return "stopped";
}

absl::StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                             const SubprocessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  // Open the output files here, where a failure can still be reported as a Status.
  int out_fd = -1;
  int err_fd = -1;
  for (auto [path, fd] : {std::pair{&options.stdout_path, &out_fd},
                          std::pair{&options.stderr_path, &err_fd}}) {
    if (path->empty()) continue;
    if (fd == &err_fd && *path == options.stdout_path) continue;  // shares stdout's file
    *fd = open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (*fd < 0) {
      if (out_fd >= 0) close(out_fd);
      return absl::NotFoundError(absl::StrCat("cannot write '", *path, "'"));
    }
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // The child's environment, built here: between fork and exec only async-signal-safe calls are
  // allowed, and setenv allocates.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const std::string name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [key, value] : options.environment) replaced |= key == name;
    if (!replaced) environment.push_back(text);
  }
  for (const auto& [key, value] : options.environment) environment.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const std::string& file = options.executable.empty() ? argv[0] : options.executable;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    if (options.own_process_group) setpgid(0, 0);
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    if (err_fd < 0 && out_fd >= 0 && options.stderr_path == options.stdout_path) {
      dup2(out_fd, STDERR_FILENO);
    }
    execve(file.c_str(), args.data(), envp.data());
    const char message[] = "cannot execute the program named in the next line\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)!write(STDERR_FILENO, file.c_str(), file.size());
    _exit(127);
  }
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  // Also set from here: a Signal right after Start must not miss the group.
  if (options.own_process_group) setpgid(pid, pid);
  return Subprocess(pid, options.own_process_group);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_), group_(other.group_), status_(other.status_) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) Kill();
    pid_ = other.pid_;
    group_ = other.group_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !status_) Kill();
}

std::optional<int> Subprocess::Poll() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) status_ = status;
  if (done < 0 && errno != EINTR) status_ = kLostChild;
  return status_;
}

int Subprocess::Wait() {
  while (!status_) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, 0);
    if (done == pid_) status_ = status;
    if (done < 0 && errno != EINTR) status_ = kLostChild;
  }
  return *status_;
}

void Subprocess::Signal(int signal) {
  if (pid_ <= 0 || status_) return;
  if (group_) kill(-pid_, signal);
  kill(pid_, signal);
}

int Subprocess::Kill() {
  Signal(SIGKILL);
  return Wait();
}

bool ExitedCleanly(int wait_status) {
  return wait_status != Subprocess::kLostChild && WIFEXITED(wait_status) &&
         WEXITSTATUS(wait_status) == 0;
}

bool CompletedProcess::ok() const { return !timed_out && ExitedCleanly(wait_status); }

void WaitForAnyExit(const std::vector<Subprocess*>& children, absl::Duration timeout) {
  std::vector<pollfd> exits;
  bool exited = false;
  bool pidfds = true;
  for (Subprocess* child : children) {
    exited = child->pid() <= 0 || child->Poll().has_value();
    if (exited) break;
    // The system call: bookworm's glibc declares pidfd_open without C linkage for C++.
    const int fd = static_cast<int>(syscall(SYS_pidfd_open, child->pid(), 0));
    pidfds = fd >= 0;
    if (!pidfds) break;
    exits.push_back({fd, POLLIN, 0});
  }
  if (!exited && !children.empty()) {
    if (pidfds) {
      // Whole milliseconds, rounded up, so a caller's deadline has passed when poll returns by it.
      const int wait_ms =
          timeout == absl::InfiniteDuration()
              ? -1
              : static_cast<int>(std::clamp<std::int64_t>(
                    absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))), 0,
                    INT_MAX));
      poll(exits.data(), exits.size(), wait_ms);  // interrupted or not: callers check and loop
    } else {
      absl::SleepFor(std::min(timeout, absl::Milliseconds(10)));
    }
  }
  for (const pollfd& exit : exits) close(exit.fd);
}

absl::StatusOr<CompletedProcess> RunToCompletion(const std::vector<std::string>& argv,
                                                 const SubprocessOptions& options,
                                                 absl::Duration timeout) {
  absl::StatusOr<std::string> out = TemporaryFile();
  if (!out.ok()) return out.status();
  absl::StatusOr<std::string> err = TemporaryFile();
  if (!err.ok()) {
    std::remove(out->c_str());
    return err.status();
  }
  SubprocessOptions captured = options;
  captured.stdout_path = *out;
  captured.stderr_path = *err;
  CompletedProcess result;
  {
    absl::StatusOr<Subprocess> child = Subprocess::Start(argv, captured);
    if (!child.ok()) {
      std::remove(out->c_str());
      std::remove(err->c_str());
      return child.status();
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (!child->Poll()) {
      if (absl::Now() >= deadline) {
        result.timed_out = true;
        child->Kill();
        break;
      }
      WaitForAnyExit({&*child}, deadline - absl::Now());
    }
    result.wait_status = *child->Poll();
  }
  result.stdout_text = ReadWhole(*out);
  result.stderr_text = ReadWhole(*err);
  std::remove(out->c_str());
  std::remove(err->c_str());
  return result;
}

}  // namespace pipebench
