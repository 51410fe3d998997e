// The order in which the interleaved schedules (interleaved 1F1B, interleaved zero bubble) visit a
// rank's v looped chunks (stage g = chunk * p + rank): micro-batches move through the chunks in
// groups of p, forwards from chunk 0 up and backwards from chunk v-1 down. They differ only in
// warm-up depth and in how a backward is split.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_INTERLEAVED_ORDER_H_
#define PIPEBENCH_ENGINE_SCHEDULE_INTERLEAVED_ORDER_H_

#include <string>

#include "absl/status/status.h"
#include "engine/schedule/params.h"

namespace pipebench {

// Groups of p micro-batches need m to be a multiple of p: an error naming `schedule` otherwise.
absl::Status RequireMicrobatchGroups(const std::string& schedule, const ScheduleParams& params);

// A rank's k-th chunk-forward (or chunk-backward) within a batch: which micro-batch, which chunk.
class InterleavedOrder {
 public:
  explicit InterleavedOrder(const ScheduleParams& params)
      : ranks_(params.stages), chunks_(params.chunks), microbatches_(params.microbatches) {}

  // Chunk-passes of one batch on one rank: m * v.
  int PassesPerBatch() const { return microbatches_ * chunks_; }
  int Microbatch(int batch, int k) const {
    return batch * microbatches_ + (k / (ranks_ * chunks_)) * ranks_ + k % ranks_;
  }
  int ForwardChunk(int k) const { return (k / ranks_) % chunks_; }
  int BackwardChunk(int k) const { return chunks_ - 1 - ForwardChunk(k); }

 private:
  const int ranks_;
  const int chunks_;
  const int microbatches_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_INTERLEAVED_ORDER_H_
