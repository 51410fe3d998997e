#include "engine/schedule/placement.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {

Placement::Placement(std::string kind, int ranks, std::vector<int> rank_of_stage)
    : kind_(std::move(kind)),
      ranks_(ranks),
      chunks_(static_cast<int>(rank_of_stage.size()) / ranks),
      rank_of_stage_(std::move(rank_of_stage)),
      chunk_of_stage_(rank_of_stage_.size()),
      stage_of_(rank_of_stage_.size()) {
  std::vector<int> held(ranks_, 0);
  for (int stage = 0; stage < static_cast<int>(rank_of_stage_.size()); ++stage) {
    const int rank = rank_of_stage_[stage];
    chunk_of_stage_[stage] = held[rank]++;
    stage_of_[chunk_of_stage_[stage] * ranks_ + rank] = stage;
  }
}

Placement Placement::Looped(int ranks, int chunks) {
  std::vector<int> rank_of_stage(static_cast<size_t>(ranks) * chunks);
  for (int stage = 0; stage < ranks * chunks; ++stage) rank_of_stage[stage] = stage % ranks;
  return Placement("looped", ranks, std::move(rank_of_stage));
}

Placement Placement::V(int ranks, int chunks) {
  std::vector<int> rank_of_stage(static_cast<size_t>(ranks) * chunks);
  for (int stage = 0; stage < ranks * chunks; ++stage) {
    const int chunk = stage / ranks;
    const int step = stage % ranks;
    rank_of_stage[stage] = chunk % 2 == 0 ? step : ranks - 1 - step;
  }
  return Placement("v", ranks, std::move(rank_of_stage));
}

absl::StatusOr<Placement> Placement::Explicit(int ranks, std::vector<int> rank_of_stage) {
  if (ranks < 1 || rank_of_stage.empty()) {
    return absl::InvalidArgumentError("a placement needs at least one rank and one stage");
  }
  std::vector<int> held(ranks, 0);
  for (size_t stage = 0; stage < rank_of_stage.size(); ++stage) {
    const int rank = rank_of_stage[stage];
    if (rank < 0 || rank >= ranks) {
      return absl::InvalidArgumentError(absl::StrCat("placement puts stage ", stage, " on rank ",
                                                     rank, ", outside [0, ", ranks, ")"));
    }
    ++held[rank];
  }
  for (int rank = 0; rank < ranks; ++rank) {
    if (held[rank] != held[0]) {
      return absl::InvalidArgumentError(
          absl::StrCat("placement gives rank ", rank, " ", held[rank], " stages and rank 0 ",
                       held[0], "; every rank must hold the same number of stages"));
    }
  }
  return Placement("explicit", ranks, std::move(rank_of_stage));
}

std::vector<int> Placement::StagesOn(int rank) const {
  std::vector<int> stages;
  for (int chunk = 0; chunk < chunks_; ++chunk) stages.push_back(StageOf(rank, chunk));
  return stages;
}

std::string Placement::Describe() const { return absl::StrJoin(rank_of_stage_, " "); }

}  // namespace pipebench
