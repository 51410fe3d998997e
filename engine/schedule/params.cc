#include "engine/schedule/params.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/schedule/action.h"

namespace pipebench {
namespace {

// Three 8-byte actions and 8 bytes of simulator state per (model stage, micro-batch) pair.
constexpr double kBytesPerPair = 32;
constexpr double kMaxStageMicrobatchPairs = 1 << 28;  // 8 GiB

absl::Status AtLeastOne(const char* name, int value) {
  if (value < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be >= 1, got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCommonParams(const ScheduleParams& params) {
  for (absl::Status status :
       {AtLeastOne("stages", params.stages), AtLeastOne("microbatches", params.microbatches),
        AtLeastOne("batches", params.batches), AtLeastOne("chunks", params.chunks)}) {
    if (!status.ok()) return status;
  }
  if (params.chunks > Action::kMaxChunks) {
    return absl::InvalidArgumentError(absl::StrCat("chunks must be <= ", Action::kMaxChunks,
                                                   ", got ", params.chunks));
  }
  if (params.max_pending_backward < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_pending_backward must be >= 1 (or 0 for the schedule's own), got ",
                     params.max_pending_backward));
  }
  if (params.costs) {
    if (absl::Status status = params.costs->Validate(params.model_stages()); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("costs: ", status.message()));
    }
  }
  if (params.accumulation < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("accumulation must be >= 1 (or 0 for 'equal to microbatches'), got ",
                     params.accumulation));
  }
  const std::int64_t total = static_cast<std::int64_t>(params.microbatches) * params.batches;
  if (total > std::numeric_limits<std::int32_t>::max() / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("microbatches * batches = ", total, " is too large"));
  }
  // Every (model stage, micro-batch) pair holds up to three actions and the simulator's state for
  // it: refuse before building programs the machine cannot hold.
  const double pairs = static_cast<double>(params.model_stages()) * static_cast<double>(total);
  if (pairs > kMaxStageMicrobatchPairs) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "stages * chunks * microbatches * batches = ", pairs, " (model stage, micro-batch) pairs "
        "need about ", static_cast<std::int64_t>(pairs * kBytesPerPair / (1 << 30)),
        " GiB of programs and simulator state; at most ", kMaxStageMicrobatchPairs,
        " pairs (", static_cast<std::int64_t>(kMaxStageMicrobatchPairs * kBytesPerPair / (1 << 30)),
        " GiB) are allowed"));
  }
  return absl::OkStatus();
}

std::string DescribeParams(const ScheduleParams& params) {
  return absl::StrCat("p=", params.stages, " m=", params.microbatches, " batches=",
                      params.batches, " a=", params.effective_accumulation(),
                      " v=", params.chunks);
}

}  // namespace pipebench
