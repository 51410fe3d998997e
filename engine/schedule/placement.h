// Where each model stage lives: which rank holds it, and as which of that rank's local chunks.
//
// A schedule owns its placement (Schedule::placement()); every backend, the simulator, the
// executor and the distributed runtime, asks it and never computes a rank from a stage itself.
//  - looped: stage g on rank g % p as chunk g / p (GPipe, 1F1B, interleaved 1F1B: the model
//    wraps around the ranks v times);
//  - v: the model zigzags: chunk c runs down the ranks when c is even and back up when c is odd,
//    so with v = 2 rank r holds stages r and 2p-1-r (ZB-V, V-Half/V-Min, DualPipeV), and the
//    last rank runs both halves of the turn with no transfer between them;
//  - explicit: a rank for every stage, as a custom schedule's text states it; a rank's chunks
//    are its stages in model order.
#ifndef PIPEBENCH_ENGINE_SCHEDULE_PLACEMENT_H_
#define PIPEBENCH_ENGINE_SCHEDULE_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pipebench {

class Placement {
 public:
  // `ranks` >= 1 and `chunks` >= 1 are the caller's to check (ScheduleParams::Validate does).
  static Placement Looped(int ranks, int chunks);
  static Placement V(int ranks, int chunks);
  // `rank_of_stage[g]` is the rank of stage g. InvalidArgument naming the rank unless every rank
  // in [0, ranks) holds the same number of stages.
  static absl::StatusOr<Placement> Explicit(int ranks, std::vector<int> rank_of_stage);

  int ranks() const { return ranks_; }
  int chunks() const { return chunks_; }
  int stages() const { return ranks_ * chunks_; }
  // "looped", "v" or "explicit".
  const std::string& kind() const { return kind_; }

  int RankOf(int stage) const { return rank_of_stage_[stage]; }
  int ChunkOf(int stage) const { return chunk_of_stage_[stage]; }
  int StageOf(int rank, int chunk) const { return stage_of_[chunk * ranks_ + rank]; }
  // The stages of `rank`, chunk by chunk.
  std::vector<int> StagesOn(int rank) const;
  // "0 1 1 0": the rank of each stage.
  std::string Describe() const;

  friend bool operator==(const Placement& a, const Placement& b) {
    return a.ranks_ == b.ranks_ && a.rank_of_stage_ == b.rank_of_stage_;
  }

 private:
  Placement(std::string kind, int ranks, std::vector<int> rank_of_stage);

  std::string kind_;
  int ranks_ = 1;
  int chunks_ = 1;
  std::vector<int> rank_of_stage_;
  std::vector<int> chunk_of_stage_;
  std::vector<int> stage_of_;  // [chunk * ranks + rank]
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SCHEDULE_PLACEMENT_H_
