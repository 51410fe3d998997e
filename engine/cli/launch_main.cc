// Starts one training process per pipeline stage on this machine (engine/dist/launcher.h).
//
//   bazel run //:launch -- --nproc=2 -- --schedule=1f1b_flush --stages=2 --microbatches=8
//
// Ranks on several machines are started by hand or by a cluster scheduler instead: run the train
// binary with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/dist/launcher.h"
#include "engine/util/run_main.h"
#include "engine/util/workspace.h"

ABSL_FLAG(int, nproc, 2, "Processes to start, one per pipeline stage.");
ABSL_FLAG(std::string, master_addr, "127.0.0.1", "Address of rank 0's rendezvous store.");
ABSL_FLAG(int, master_port, 29500, "Port of rank 0's rendezvous store.");
ABSL_FLAG(std::string, train, "",
          "The train binary every rank runs; default: `train` beside this launcher. A runner with "
          "its own schedules (benchmarks/runner.bzl) passes its own.");
ABSL_FLAG(int, grace_seconds, 10,
          "After a rank fails, how long the others get to notice and exit before being killed.");

namespace pipebench {
namespace {

absl::Status Launch(const std::vector<char*>& rest) {
  LaunchOptions options;
  options.nproc = absl::GetFlag(FLAGS_nproc);
  options.master_addr = absl::GetFlag(FLAGS_master_addr);
  options.master_port = absl::GetFlag(FLAGS_master_port);
  options.grace = absl::Seconds(absl::GetFlag(FLAGS_grace_seconds));
  options.train_binary = absl::GetFlag(FLAGS_train);
  if (options.train_binary.empty()) {  // `train` beside this launcher
    const std::string self = SelfExecutable();
    options.train_binary = self.substr(0, self.rfind('/') + 1) + "train";
  }
  return LaunchRanks(options, std::vector<std::string>(rest.begin() + 1, rest.end()));
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "launch",
                            "launch --nproc=P [--master_port=N] -- <train flags>",
                            pipebench::Launch);
}
