// A model the pipeline engine trains: a chain of units cut into contiguous ranges, one range per
// model stage. Unit 0 reads token ids [batch, context]; the last unit gives logits
// [batch, context, vocab]; the units between (the model's layers) pass one activation tensor on.
//
// The stage workers, the executor, the distributed runtime and cost measurement know a model only
// through this interface. The GPT (gpt.h) is one; the NAS supernet, whose stages also carry
// architecture choices, is another.
#ifndef PIPEBENCH_ENGINE_MODEL_STAGE_MODEL_H_
#define PIPEBENCH_ENGINE_MODEL_STAGE_MODEL_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace pipebench {

// Units [begin, end).
struct UnitRange {
  int begin = 0;
  int end = 0;
  int size() const { return end - begin; }
  friend bool operator==(const UnitRange& a, const UnitRange& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

class StageModel {
 public:
  virtual ~StageModel() = default;

  // Units in the chain: the first, layers() middle ones, the last.
  virtual int units() const = 0;
  int layers() const { return units() - 2; }
  virtual int context() const = 0;
  virtual int vocab_size() const = 0;
  // OK when the model is valid and can run cut into `stages` stages, each holding a layer; else
  // an error naming the problem.
  virtual absl::Status CheckStages(int stages) const = 0;
  // Fresh leaf tensors (requires_grad) for the units of `range`. A seed gives the same tensors
  // however the model is partitioned.
  virtual std::vector<torch::Tensor> InitWeights(UnitRange range, std::uint64_t seed) const = 0;
  // Which of `range`'s tensors take weight decay.
  virtual std::vector<bool> WeightDecayMask(UnitRange range) const = 0;
  // Which of `range`'s tensors are architecture parameters (a supernet's alpha), trained apart
  // from the weights when a run alternates (ExecutorOptions::architecture); none for a plain
  // network.
  virtual std::vector<bool> ArchitectureMask(UnitRange range) const = 0;
  // Runs the units of `range` on `weights` (InitWeights' layout). With `dropout_seed` (a
  // training forward) dropout masks come from (dropout_seed, unit): the same however the model
  // is partitioned.
  virtual torch::Tensor Forward(UnitRange range, const std::vector<torch::Tensor>& weights,
                                const torch::Tensor& input,
                                std::optional<std::uint64_t> dropout_seed) const = 0;
  // The activation a stage sends downstream, for `batch` sequences.
  virtual std::vector<std::int64_t> ActivationShape(int batch) const = 0;
  // Bytes autograd keeps alive for one in-flight micro-batch of `batch` sequences in `range`
  // (an estimate, for the cost model's memory accounting).
  virtual double ActivationBytes(UnitRange range, int batch) const = 0;
  virtual std::string Describe() const = 0;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_MODEL_STAGE_MODEL_H_
