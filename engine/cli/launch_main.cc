// Starts one training process per pipeline stage on this machine, wired together through
// RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, and stops the rest when one fails.
//
//   bazel run //:launch -- --nproc=2 -- --schedule=1f1b_flush --stages=2 --microbatches=8
//
// Ranks on several machines are started the same way by hand or by a cluster scheduler: run the
// train binary with those four variables set.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "engine/util/workspace.h"

ABSL_FLAG(int, nproc, 2, "Processes to start, one per pipeline stage.");
ABSL_FLAG(std::string, master_addr, "127.0.0.1", "Address of rank 0's rendezvous store.");
ABSL_FLAG(int, master_port, 29500, "Port of rank 0's rendezvous store.");
ABSL_FLAG(std::string, train, "",
          "The train binary every rank runs; default: `train` beside this launcher. A runner with "
          "its own schedules (benchmarks/runner.bzl) passes its own.");
ABSL_FLAG(int, grace_seconds, 10,
          "After a rank fails, how long the others get to notice and exit before being killed.");

namespace {

// `train` beside this launcher.
std::string TrainBinary() {
  const std::string self = pipebench::SelfExecutable();
  return self.substr(0, self.rfind('/') + 1) + "train";
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return "stopped";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("launch --nproc=P [--master_port=N] -- <train flags>");
  std::vector<char*> train_args = absl::ParseCommandLine(argc, argv);
  const int nproc = absl::GetFlag(FLAGS_nproc);
  if (nproc < 1) {
    std::fprintf(stderr, "launch: error: --nproc must be >= 1, got %d\n", nproc);
    return 1;
  }
  const std::string train =
      absl::GetFlag(FLAGS_train).empty() ? TrainBinary() : absl::GetFlag(FLAGS_train);
  if (access(train.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "launch: error: train binary not found at %s\n", train.c_str());
    return 1;
  }
  std::vector<char*> args = {const_cast<char*>(train.c_str())};
  args.insert(args.end(), train_args.begin() + 1, train_args.end());
  args.push_back(nullptr);

  // Like torchrun: unless told otherwise, the processes split the cores instead of each starting
  // one OpenMP and one OpenBLAS thread per core.
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
    const std::string share = std::to_string(std::max(1L, cores / nproc));
    setenv("OMP_NUM_THREADS", share.c_str(), 1);
    setenv("OPENBLAS_NUM_THREADS", share.c_str(), 1);
  }
  std::vector<pid_t> pids(nproc, -1);
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", absl::GetFlag(FLAGS_master_addr).c_str(), 1);
      setenv("MASTER_PORT", std::to_string(absl::GetFlag(FLAGS_master_port)).c_str(), 1);
      execv(train.c_str(), args.data());
      std::fprintf(stderr, "launch: error: cannot start %s\n", train.c_str());
      _exit(127);
    }
    pids[rank] = pid;
  }

  using Clock = std::chrono::steady_clock;
  std::vector<int> statuses(nproc, -1);
  int running = nproc;
  int first_failure = -1;
  Clock::time_point kill_at = Clock::time_point::max();
  bool terminated = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int rank = 0; rank < nproc; ++rank) {
        if (pids[rank] != pid) continue;
        statuses[rank] = status;
        --running;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && first_failure < 0) {
          first_failure = rank;
          kill_at = Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_grace_seconds));
        }
      }
      continue;
    }
    if (Clock::now() >= kill_at) {
      for (int rank = 0; rank < nproc; ++rank) {
        if (statuses[rank] < 0) kill(pids[rank], terminated ? SIGKILL : SIGTERM);
      }
      kill_at = Clock::now() + std::chrono::seconds(2);
      terminated = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (first_failure < 0) return 0;
  std::fprintf(stderr, "launch: rank %d failed first (%s)\n", first_failure,
               Describe(statuses[first_failure]).c_str());
  for (int rank = 0; rank < nproc; ++rank) {
    if (rank != first_failure && !(WIFEXITED(statuses[rank]) && WEXITSTATUS(statuses[rank]) == 0)) {
      std::fprintf(stderr, "launch: rank %d %s\n", rank, Describe(statuses[rank]).c_str());
    }
  }
  return 1;
}
