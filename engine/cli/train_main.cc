// Trains the GPT under one pipeline schedule and writes one JSON line per finished mini-batch
// (step, train loss, simulated time, tokens, validation loss when evaluated) and a closing
// {"summary": ...} line, the run summary every backend writes (engine/runtime/run_summary.h).
// Under the launcher (WORLD_SIZE set) the process is one rank of a distributed run.
//
//   bazel run //:train -- --schedule=paci --stages=4 --microbatches=4 --batches=200
//   bazel run //:train -- --schedule=1f1b_flush --data=synthetic --batches=50 --out=/tmp/run.jsonl
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/training/run_training.h"
#include "engine/util/file_io.h"
#include "engine/util/run_main.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"

// Defaults come from TrainConfig, the one place they are written.
ABSL_FLAG(std::string, schedule, pipebench::TrainConfig().schedule, "Registered schedule name.");
ABSL_FLAG(int, stages, pipebench::TrainConfig().stages, "Pipeline ranks p.");
ABSL_FLAG(int, microbatches, pipebench::TrainConfig().microbatches,
          "Micro-batches per mini-batch m.");
ABSL_FLAG(int, accumulation, pipebench::TrainConfig().accumulation,
          "PACI's backwards per optimizer step a (0: equal to m).");
ABSL_FLAG(int, chunks, pipebench::TrainConfig().chunks,
          "Model stages per rank v (see simulate --list --accepting --chunks=v).");
ABSL_FLAG(int, batches, pipebench::TrainConfig().batches, "Mini-batches to train.");
ABSL_FLAG(std::string, model, pipebench::TrainConfig().model,
          "GPT shape as key=value pairs: layers, embed, heads, mlp_ratio, context.");
ABSL_FLAG(int, micro_batch_size, pipebench::TrainConfig().micro_batch_size,
          "Sequences per micro-batch.");
ABSL_FLAG(double, lr, pipebench::TrainConfig().lr, "Peak learning rate.");
ABSL_FLAG(int, warmup, pipebench::TrainConfig().warmup, "Warmup optimizer steps.");
ABSL_FLAG(double, weight_decay, pipebench::TrainConfig().weight_decay,
          "AdamW weight decay (matrices and embeddings only).");
ABSL_FLAG(double, min_lr_ratio, pipebench::TrainConfig().min_lr_ratio,
          "Cosine floor as a fraction of the peak rate.");
ABSL_FLAG(uint64_t, seed, pipebench::TrainConfig().seed, "Seed for initialisation and data order.");
ABSL_FLAG(
    std::string, data, pipebench::TrainConfig().data,
    "'tinyshakespeare' (the file the build fetches, checksummed), 'synthetic', or a text file.");
ABSL_FLAG(std::string, partition, pipebench::TrainConfig().partition,
          "equal (by layer count), cost (balance measured layer costs), or blocks per stage, "
          "e.g. 2,1,1.");
ABSL_FLAG(std::string, costs, pipebench::TrainConfig().costs,
          "Cost file for the simulated clock; empty: measure this machine's stage costs.");
ABSL_FLAG(std::string, write_costs, pipebench::TrainConfig().write_costs,
          "Also write the measured stage costs to this file.");
ABSL_FLAG(int, eval_every, pipebench::TrainConfig().eval_every,
          "Validation loss every this many mini-batches (0: at the end).");
ABSL_FLAG(int64_t, eval_tokens, pipebench::TrainConfig().eval_tokens,
          "Tokens of the fixed validation subset each evaluation reads (the validation split's "
          "first tokens).");
ABSL_FLAG(std::string, out, "", "Write the JSON lines here instead of standard output.");
ABSL_FLAG(int, threads, pipebench::TrainConfig().threads,
          "LibTorch and OpenBLAS threads (0: their defaults; under the launcher, cores / nproc).");
ABSL_FLAG(std::string, device, pipebench::TrainConfig().device,
          "Where stages compute: cpu, cuda (each rank on GPU rank % visible GPUs) or cuda:N. A GPU "
          "needs the CUDA build (ci/gpu/build.sh); stage costs are measured on it too.");
ABSL_FLAG(int, timeout_seconds, pipebench::TrainConfig().timeout_seconds,
          "Distributed runs: how long a rank waits for a peer before naming it as failed.");
ABSL_FLAG(std::string, trace, pipebench::TrainConfig().trace,
          "Distributed runs: rank 0 writes a Chrome/Perfetto trace of every rank's real timings.");
ABSL_FLAG(std::string, transport, pipebench::TrainConfig().transport,
          "Distributed runs: gloo, or nccl in a CUDA build (ci/gpu/build.sh or --config=nccl). "
          "With --device=cuda, nccl sends and receives in GPU memory; gloo stages through the "
          "host.");
ABSL_FLAG(double, slow_down, pipebench::TrainConfig().slow_down,
          "Inject a regression: every compute action takes this many times its own time (for "
          "showing that the CI gate's measured checks fail).");
ABSL_FLAG(std::string, fault, pipebench::TrainConfig().fault,
          "Fault injection for testing failure handling: exit:RANK:WHEN or hang:RANK:WHEN (WHEN: "
          "an action count, 'step' for the rank's first optimizer step, 'last' for its last "
          "action), or slow:RANK:SECONDS (a sleep before each of its actions).");

namespace pipebench {
namespace {

TrainConfig ConfigFromFlags() {
  TrainConfig c;
  c.schedule = absl::GetFlag(FLAGS_schedule);
  c.stages = absl::GetFlag(FLAGS_stages);
  c.microbatches = absl::GetFlag(FLAGS_microbatches);
  c.accumulation = absl::GetFlag(FLAGS_accumulation);
  c.chunks = absl::GetFlag(FLAGS_chunks);
  c.batches = absl::GetFlag(FLAGS_batches);
  c.model = absl::GetFlag(FLAGS_model);
  c.micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.warmup = absl::GetFlag(FLAGS_warmup);
  c.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  c.min_lr_ratio = absl::GetFlag(FLAGS_min_lr_ratio);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.data = absl::GetFlag(FLAGS_data);
  c.partition = absl::GetFlag(FLAGS_partition);
  c.costs = absl::GetFlag(FLAGS_costs);
  c.write_costs = absl::GetFlag(FLAGS_write_costs);
  c.eval_every = absl::GetFlag(FLAGS_eval_every);
  c.eval_tokens = absl::GetFlag(FLAGS_eval_tokens);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.device = absl::GetFlag(FLAGS_device);
  c.timeout_seconds = absl::GetFlag(FLAGS_timeout_seconds);
  c.trace = absl::GetFlag(FLAGS_trace);
  c.transport = absl::GetFlag(FLAGS_transport);
  c.fault = absl::GetFlag(FLAGS_fault);
  c.slow_down = absl::GetFlag(FLAGS_slow_down);
  return c;
}

absl::Status Run() {
  const TrainConfig config = ConfigFromFlags();
  PB_ASSIGN_OR_RETURN(std::optional<CommunicatorOptions> distributed,
                      DistributedFromEnvironment(config));
  std::ofstream file;
  if (!absl::GetFlag(FLAGS_out).empty()) {
    file.open(ResolveOutputPath(absl::GetFlag(FLAGS_out)));
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("cannot write --out '", absl::GetFlag(FLAGS_out), "'"));
    }
  }
  PB_RETURN_IF_ERROR(RunTraining(config, distributed, file.is_open() ? file : std::cout).status());
  // Standard output is checked by RunMain; a file here.
  if (file.is_open()) {
    PB_RETURN_IF_ERROR(CloseWritten(file, ResolveOutputPath(absl::GetFlag(FLAGS_out)), "--out"));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace pipebench

int main(int argc, char** argv) {
  return pipebench::RunMain(argc, argv, "train", "Trains a GPT under a pipeline schedule.",
                            [](const std::vector<char*>&) { return pipebench::Run(); });
}
