#include "engine/dist/launcher.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/util/subprocess.h"

namespace pipebench {
namespace {

// 16 hex digits from the kernel's random source, with the pid as a fallback.
std::string RandomRunId() {
  std::uint64_t bits = 0;
  std::ifstream random("/dev/urandom", std::ios::binary);
  if (!random.read(reinterpret_cast<char*>(&bits), sizeof bits)) {
    bits = (static_cast<std::uint64_t>(getpid()) << 32) ^
           static_cast<std::uint64_t>(absl::ToUnixNanos(absl::Now()));
  }
  return absl::StrFormat("%016x", bits);
}

}  // namespace

absl::Status LaunchRanks(const LaunchOptions& options, const std::vector<std::string>& train_args) {
  if (options.nproc < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--nproc must be >= 1, got ", options.nproc));
  }
  if (options.nnodes < 1 || options.node_rank < 0 || options.node_rank >= options.nnodes) {
    return absl::InvalidArgumentError(absl::StrCat("--node_rank must be in [0, --nnodes), got ",
                                                   options.node_rank, " of ", options.nnodes));
  }
  if (options.nnodes > 1 &&
      (options.master_addr.rfind("127.", 0) == 0 || options.master_addr == "localhost")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "with --nnodes=", options.nnodes, ", --master_addr must be host 0's address as the other "
        "hosts reach it, not ", options.master_addr));
  }
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  if (options.nproc > 4 * cores && !options.oversubscribe) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "--nproc=", options.nproc, " starts more than 4 ranks per core on this host's ", cores,
        " cores (at most ", 4 * cores, "); pass --oversubscribe to start them anyway"));
  }
  // The ranks would refuse a world that is not their stage count, each after loading its model
  // and data: say so before starting any.
  const int world_size = options.nnodes * options.nproc;
  for (size_t i = 0; i < train_args.size(); ++i) {
    // --stages=N, or --stages N
    const std::string& arg = train_args[i];
    absl::string_view value;
    if (absl::StartsWith(arg, "--stages=")) value = absl::string_view(arg).substr(9);
    if (arg == "--stages" && i + 1 < train_args.size()) value = train_args[i + 1];
    int stages = 0;
    if (!value.empty() && absl::SimpleAtoi(value, &stages) && stages != world_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--nproc=", options.nproc, (options.nnodes > 1 ? absl::StrCat(" x --nnodes=",
                                                                       options.nnodes)
                                                         : ""),
          " starts ", world_size, " ranks but the train flags say --stages=", stages,
          "; start one rank per stage"));
    }
  }
  std::string run_id = options.run_id;
  if (run_id.empty() && options.nnodes > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "with --nnodes=", options.nnodes, ", give every host's launcher the same --run_id (as "
        "torchrun's --rdzv_id), so that jobs sharing a port cannot join each other"));
  }
  if (run_id.empty()) run_id = RandomRunId();
  if (access(options.train_binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("train binary not found at '", options.train_binary, "'"));
  }
  std::vector<std::string> argv = {options.train_binary};
  argv.insert(argv.end(), train_args.begin(), train_args.end());
  SubprocessOptions common;
  // One process group with the launcher: Ctrl-C in a terminal reaches every rank.
  common.own_process_group = false;
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const std::string share = std::to_string(std::max(1L, cores / options.nproc));
    common.environment = {{"OMP_NUM_THREADS", share}, {"OPENBLAS_NUM_THREADS", share}};
  }
  std::vector<Subprocess> ranks;
  for (int local = 0; local < options.nproc; ++local) {
    SubprocessOptions own = common;
    own.environment.insert(own.environment.end(),
                           {{"RANK", std::to_string(options.node_rank * options.nproc + local)},
                            {"LOCAL_RANK", std::to_string(local)},
                            {"WORLD_SIZE", std::to_string(options.nnodes * options.nproc)},
                            {"MASTER_ADDR", options.master_addr},
                            {"MASTER_PORT", std::to_string(options.master_port)},
                            {"PIPEBENCH_RUN_ID", run_id}});
    absl::StatusOr<Subprocess> child = Subprocess::Start(argv, own);
    if (!child.ok()) return child.status();  // the started ranks die with their Subprocess
    ranks.push_back(std::move(*child));
  }

  using Clock = std::chrono::steady_clock;
  std::vector<std::optional<int>> statuses(options.nproc);
  std::vector<bool> stopped(options.nproc, false);  // still running when the grace ran out
  int running = options.nproc;
  int first_failure = -1;
  Clock::time_point stop_at = Clock::time_point::max();
  bool terminated = false;
  while (running > 0) {
    for (int rank = 0; rank < options.nproc; ++rank) {
      if (statuses[rank]) continue;
      statuses[rank] = ranks[rank].Poll();
      if (!statuses[rank]) continue;
      --running;
      if (!ExitedCleanly(*statuses[rank]) && first_failure < 0) {
        first_failure = rank;
        stop_at = Clock::now() + absl::ToChronoSeconds(options.grace);
      }
    }
    if (Clock::now() >= stop_at) {
      // SIGTERM first, SIGKILL two seconds later for a rank that ignores it.
      for (int rank = 0; rank < options.nproc; ++rank) {
        if (statuses[rank]) continue;
        ranks[rank].Signal(terminated ? SIGKILL : SIGTERM);
        stopped[rank] = true;
      }
      stop_at = Clock::now() + std::chrono::seconds(2);
      terminated = true;
    }
    // Woken by the next exit itself: a rank that dies is seen before the ranks its death stops
    // (they fail milliseconds later), so "failed first" names the cause.
    std::vector<Subprocess*> alive;
    for (int rank = 0; rank < options.nproc; ++rank) {
      if (!statuses[rank]) alive.push_back(&ranks[rank]);
    }
    WaitForAnyExit(alive, stop_at == Clock::time_point::max()
                              ? absl::InfiniteDuration()
                              : absl::FromChrono(stop_at - Clock::now()));
  }
  if (first_failure < 0) return absl::OkStatus();
  const int first_rank = options.node_rank * options.nproc;  // ranks by their global number
  std::string message = absl::StrCat("rank ", first_rank + first_failure, " failed first (",
                                     DescribeWaitStatus(*statuses[first_failure]), ")");
  for (int rank = 0; rank < options.nproc; ++rank) {
    const int status = *statuses[rank];
    if (rank == first_failure || ExitedCleanly(status)) continue;
    if (stopped[rank]) {
      // Failing first is not causing: a rank that hangs (or was stopped) makes its peer time out
      // and fail first, and is itself still running when the grace period ends.
      absl::StrAppend(&message, "; rank ", first_rank + rank, " was still running ",
                      absl::ToInt64Seconds(options.grace), " s later and was stopped by the "
                      "launcher (a rank that hangs shows this way: rank ",
                      first_rank + first_failure, "'s error says what it waited for)");
    } else {
      absl::StrAppend(&message, "; rank ", first_rank + rank, " ", DescribeWaitStatus(status));
    }
  }
  return absl::AbortedError(message);
}

}  // namespace pipebench
