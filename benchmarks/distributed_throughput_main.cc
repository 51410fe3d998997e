// Distributed throughput against the simulator's prediction, on this machine.
//
// Measures Gloo's point-to-point latency and bandwidth on 127.0.0.1, runs each schedule for real
// with the launcher (p processes, one LibTorch thread each), and compares the measured
// micro-batches per second with two predictions:
//  - from stage costs measured beforehand in one quiet process (what a user would plan with);
//  - from the stage costs the run itself measured (median time of each action kind per rank),
//    which include what p processes sharing the machine cost each other. This one isolates the
//    pipeline machinery - transfers, waiting, scheduling - and carries the target: 1f1b_flush at
//    p = 2, m = 8 reaches at least 85% of it.
//
//   bazel run //benchmarks:distributed_throughput [-- --schedules=1f1b_flush,paci --batches=4]

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "benchmarks/harness/launched_run.h"
#include "engine/dist/communicator.h"
#include "engine/dist/free_port.h"
#include "engine/exec/cost_measurement.h"
#include "engine/model/partition.h"
#include "engine/platform/blas_info.h"
#include "engine/runtime/run_summary.h"
#include "engine/schedule/registry.h"
#include "engine/sim/simulator.h"
#include "engine/training/run_training.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

ABSL_FLAG(std::string, schedules, "1f1b_flush,gpipe,zb_h1,paci,pipedream,pipedream_2bw",
          "Schedules to run.");
ABSL_FLAG(int, stages, 2, "Processes / pipeline stages.");
ABSL_FLAG(int, microbatches, 8, "Micro-batches per mini-batch.");
ABSL_FLAG(int, batches, 8, "Mini-batches per run.");
ABSL_FLAG(int, micro_batch_size, 8, "Sequences per micro-batch.");
ABSL_FLAG(std::string, model, "layers=4,embed=128,heads=4,mlp_ratio=4,context=64", "GPT shape.");
ABSL_FLAG(double, target, 0.85, "Required measured / predicted ratio for 1f1b_flush.");

namespace pipebench {
namespace {

struct LinkMeasurement {
  double latency = 0;    // seconds, one way, for a tiny message
  double bandwidth = 0;  // bytes per second for activation-sized messages
};

// Ping-pong between two ranks in this process: half the round trip of a 4-byte tensor is the
// latency; 16 MiB round trips give the bandwidth once the latency is taken out.
absl::StatusOr<LinkMeasurement> MeasureGloo() {
  constexpr std::int64_t kLargeFloats = 4 << 20;
  const int port = UnusedLoopbackPort();
  constexpr int kRounds = 50;
  auto ping_pong = [&](Communicator& comm, std::int64_t floats, bool starts) -> double {
    torch::Tensor buffer = torch::zeros({floats});
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRounds; ++i) {
      if (starts) {
        (void)comm.Send(buffer, 1, i);
        (void)comm.Recv(buffer, 1, i);
      } else {
        (void)comm.Recv(buffer, 0, i);
        (void)comm.Send(buffer, 0, i);
      }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
           kRounds;
  };
  absl::Status peer_status;
  std::thread peer([&] {
    CommunicatorOptions options;
    options.rank = 1;
    options.world_size = 2;
    options.master_port = port;
    auto comm = Communicator::Connect(options);
    if (!comm.ok()) {
      peer_status = comm.status();
      return;
    }
    ping_pong(**comm, 1, false);
    ping_pong(**comm, kLargeFloats, false);
  });
  CommunicatorOptions options;
  options.world_size = 2;
  options.master_port = port;
  auto comm = Communicator::Connect(options);
  if (!comm.ok()) {
    peer.join();
    return comm.status();
  }
  const double small = ping_pong(**comm, 1, true);
  const double large = ping_pong(**comm, kLargeFloats, true);
  peer.join();
  PB_RETURN_IF_ERROR(peer_status);
  LinkMeasurement link;
  link.latency = small / 2;
  const double transfer = std::max(1e-9, large / 2 - link.latency);
  link.bandwidth = kLargeFloats * 4.0 / transfer;
  return link;
}

// Runs the launcher and returns the distributed run's summary.
absl::StatusOr<RunSummary> RunDistributed(const std::string& schedule) {
  TrainConfig config;
  config.data = "synthetic";
  config.threads = 1;
  config.schedule = schedule;
  config.stages = absl::GetFlag(FLAGS_stages);
  config.microbatches = absl::GetFlag(FLAGS_microbatches);
  config.batches = absl::GetFlag(FLAGS_batches);
  config.micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
  config.model = absl::GetFlag(FLAGS_model);
  return RunLaunched(RunfilePath("engine/cli/train"), config.stages, config);
}

absl::Status Run() {
  SetComputeThreads(1);
  // The runs train on the 16-symbol synthetic language.
  PB_ASSIGN_OR_RETURN(GptConfig gpt, ParseGptConfig(absl::GetFlag(FLAGS_model), 16));
  const GptModel model(std::move(gpt));
  const int p = absl::GetFlag(FLAGS_stages);
  const int mbs = absl::GetFlag(FLAGS_micro_batch_size);
  PB_ASSIGN_OR_RETURN(std::vector<UnitRange> partition, PartitionByLayers(model, p));
  PB_ASSIGN_OR_RETURN(CostModel costs,
                      MeasureStageCosts(model, partition, {.micro_batch_size = mbs, .repeats = 9}));
  PB_ASSIGN_OR_RETURN(LinkMeasurement link, MeasureGloo());
  costs.p2p_latency = link.latency;
  costs.p2p_bandwidth = link.bandwidth;
  std::printf("Gloo on 127.0.0.1: latency %.1f us, bandwidth %.2f GB/s\n", link.latency * 1e6,
              link.bandwidth / 1e9);
  for (size_t s = 0; s < costs.stages.size(); ++s) {
    std::printf("stage %zu: forward %.2f ms, input grad %.2f ms, weight grad %.2f ms, step %.2f ms\n",
                s, costs.stages[s].forward * 1e3, costs.stages[s].backward_input * 1e3,
                costs.stages[s].backward_weight * 1e3, costs.stages[s].optimizer_step * 1e3);
  }
  std::printf("\n%-14s %22s %22s %14s\n", "schedule", "predicted (quiet) mb/s",
              "predicted (in-run) mb/s", "measured mb/s");
  bool met = true;
  const std::vector<std::string> names = absl::StrSplit(absl::GetFlag(FLAGS_schedules), ',');
  for (const std::string& name : names) {
    ScheduleParams params;
    params.stages = p;
    params.microbatches = absl::GetFlag(FLAGS_microbatches);
    params.batches = absl::GetFlag(FLAGS_batches);
    PB_ASSIGN_OR_RETURN(std::unique_ptr<Schedule> schedule, MakeSchedule(name, params, costs));
    PB_ASSIGN_OR_RETURN(SimulationResult predicted, Simulate(*schedule, costs));
    const double predicted_rate = predicted.throughput;
    absl::StatusOr<RunSummary> summary = RunDistributed(name);
    if (!summary.ok()) {
      std::printf("%-14s %16.2f %16s\n", name.c_str(), predicted_rate, "failed");
      met = false;
      continue;
    }
    const double measured_rate = summary->measured->microbatches_per_second;
    CostModel in_run = costs;
    for (int s = 0; s < p; ++s) {
      const std::map<std::string, double>& median =
          summary->ranks[s].measured_median_action_seconds;
      StageCost& c = in_run.stages[s];
      c.forward = median.at("forward");
      c.optimizer_step = median.at("optimizer_step");
      if (schedule->splits_backward()) {
        c.backward_input = median.at("backward_input");
        c.backward_weight = median.at("backward_weight");
      } else {  // only the sum matters to an unsplit backward
        c.backward_input = median.at("backward");
        c.backward_weight = 0;
      }
    }
    PB_ASSIGN_OR_RETURN(SimulationResult in_run_prediction, Simulate(*schedule, in_run));
    const double ratio = measured_rate / in_run_prediction.throughput;
    std::printf("%-14s %22.2f %22.2f %8.2f (%3.0f%%)\n", name.c_str(), predicted_rate,
                in_run_prediction.throughput, measured_rate, 100 * ratio);
    if (name == "1f1b_flush" && ratio < absl::GetFlag(FLAGS_target)) met = false;
  }
  std::printf("\n1f1b_flush target (>= %.0f%% of the in-run prediction): %s\n",
              100 * absl::GetFlag(FLAGS_target), met ? "met" : "NOT met");
  return met ? absl::OkStatus() : absl::FailedPreconditionError("throughput target not met");
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "distributed_throughput", "Measures distributed throughput against the simulator.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
