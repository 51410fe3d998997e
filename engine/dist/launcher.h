// Starts this machine's train processes, wired together through RANK / WORLD_SIZE / MASTER_ADDR /
// MASTER_PORT (as torchrun does), and stops the rest of them when one fails.
//
// On several machines (as torchrun's --nnodes / --node_rank): each host runs the launcher with the
// same --nnodes, --nproc (processes per host), --master_addr (host 0's address, reachable from
// every host) and --master_port, and its own --node_rank; host k starts ranks k*nproc ..
// (k+1)*nproc-1 of nnodes*nproc. A rank that fails on one host fails its peers elsewhere through
// their receive timeouts; each launcher reports its own ranks.
#ifndef PIPEBENCH_ENGINE_DIST_LAUNCHER_H_
#define PIPEBENCH_ENGINE_DIST_LAUNCHER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pipebench {

struct LaunchOptions {
  int nproc = 2;  // on this host
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string train_binary;  // every rank runs it with the same arguments
  // After a rank fails, how long the others get to notice and exit before they are terminated.
  absl::Duration grace = absl::Seconds(10);
  // The job's name at the rendezvous (PIPEBENCH_RUN_ID for the ranks; CommunicatorOptions::run_id):
  // ranks of two jobs on one port refuse each other. Empty: a fresh random id on one host; on
  // several hosts every launcher must be given the same one.
  std::string run_id;
  // More ranks than 4 per core is refused (each rank is a process with its own threads and model)
  // unless this is set.
  bool oversubscribe = false;
};

// Runs the ranks to the end. The ranks inherit this process's standard output and error and die
// with it. Unless OMP_NUM_THREADS is set, the ranks split the cores instead of each starting one
// thread per core. Errors: a bad option, or the rank that failed first and how every failed rank
// ended ("rank 1 failed first (exited with status 1); rank 0 was killed by signal 15").
absl::Status LaunchRanks(const LaunchOptions& options, const std::vector<std::string>& train_args);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_LAUNCHER_H_
