// Starts this machine's training processes, one per pipeline stage (engine/dist/launcher.h).
//
//   bazel run //:launch -- --nproc=2 -- --schedule=1f1b_flush --stages=2 --microbatches=8
//
// On two hosts, 2 stages each (host 0 at 10.0.0.1):
//   host 0: launch --nnodes=2 --node_rank=0 --nproc=2 --master_addr=10.0.0.1 -- --stages=4 ...
//   host 1: launch --nnodes=2 --node_rank=1 --nproc=2 --master_addr=10.0.0.1 -- --stages=4 ...
// (or run the train binary per rank with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set;
// GLOO_SOCKET_IFNAME picks the interface Gloo listens on).
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/dist/launcher.h"
#include "engine/util/run_main.h"
#include "engine/util/workspace.h"

ABSL_FLAG(int, nproc, 2, "Processes to start on this host, one per pipeline stage.");
ABSL_FLAG(int, nnodes, 1, "Hosts taking part; each runs this launcher.");
ABSL_FLAG(int, node_rank, 0, "This host's number: it starts ranks node_rank*nproc onwards.");
ABSL_FLAG(std::string, master_addr, "127.0.0.1",
          "Address of rank 0's rendezvous store (host 0), as every host reaches it.");
ABSL_FLAG(int, master_port, 29500, "Port of rank 0's rendezvous store.");
ABSL_FLAG(std::string, train, "",
          "The train binary every rank runs; default: `train` beside this launcher. A runner with "
          "its own schedules (benchmarks/runner.bzl) passes its own.");
ABSL_FLAG(std::string, run_id, "",
          "The job's name at the rendezvous (as torchrun's --rdzv_id): ranks of another job on the "
          "same port are refused. Default: random on one host; required with --nnodes > 1, the "
          "same on every host (under Slurm: SLURM_JOB_ID).");
ABSL_FLAG(bool, oversubscribe, false, "Allow more than 4 ranks per core on this host.");
ABSL_FLAG(int, grace_seconds, 10,
          "After a rank fails, how long the others get to notice and exit before being killed.");

namespace pipebench {
namespace {

absl::Status Launch(const std::vector<char*>& rest) {
  LaunchOptions options;
  options.nproc = absl::GetFlag(FLAGS_nproc);
  options.nnodes = absl::GetFlag(FLAGS_nnodes);
  options.node_rank = absl::GetFlag(FLAGS_node_rank);
  options.master_addr = absl::GetFlag(FLAGS_master_addr);
  options.master_port = absl::GetFlag(FLAGS_master_port);
  options.grace = absl::Seconds(absl::GetFlag(FLAGS_grace_seconds));
  options.train_binary = absl::GetFlag(FLAGS_train);
  options.run_id = absl::GetFlag(FLAGS_run_id);
  options.oversubscribe = absl::GetFlag(FLAGS_oversubscribe);
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
