#include "benchmarks/harness/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pipebench {
namespace {

// Below this share of its steps a cell's own extrapolation is too noisy (start-up dominates).
constexpr double kMinimumFraction = 0.02;

double Fraction(const RunningCell& cell) {
  return cell.steps_total > 0 ? static_cast<double>(cell.steps_done) / cell.steps_total : 0.0;
}

}  // namespace

Progress::Progress(std::vector<std::string> kinds, int parallel)
    : total_(static_cast<int>(kinds.size())), parallel_(std::max(1, parallel)) {
  for (const std::string& kind : kinds) ++remaining_[kind];
}

void Progress::Finished(const std::string& kind, double seconds, bool ok) {
  auto& [sum, count] = finished_[kind];
  sum += seconds;
  ++count;
  ++done_;
  if (!ok) ++failed_;
  if (--remaining_[kind] <= 0) remaining_.erase(kind);
}

double Progress::ExpectedSeconds(const std::string& kind,
                                 const std::vector<RunningCell>& running) const {
  if (auto it = finished_.find(kind); it != finished_.end()) {
    return it->second.first / it->second.second;
  }
  double extrapolated = 0;
  int count = 0;
  for (const RunningCell& cell : running) {
    if (cell.kind == kind && Fraction(cell) >= kMinimumFraction) {
      extrapolated += cell.elapsed_seconds / Fraction(cell);
      ++count;
    }
  }
  if (count > 0) return extrapolated / count;
  double all_seconds = 0;
  int all_count = 0;
  for (const auto& [other, sum_count] : finished_) {
    all_seconds += sum_count.first;
    all_count += sum_count.second;
  }
  return all_count > 0 ? all_seconds / all_count : -1;
}

double Progress::EstimatedSecondsLeft(const std::vector<RunningCell>& running) const {
  std::map<std::string, int> queued = remaining_;
  double left = 0;
  for (const RunningCell& cell : running) {
    --queued[cell.kind];
    const double fraction = Fraction(cell);
    if (fraction >= kMinimumFraction) {
      left += cell.elapsed_seconds * (1 - fraction) / fraction;
      continue;
    }
    const double expected = ExpectedSeconds(cell.kind, running);
    if (expected < 0) return -1;
    left += std::max(0.0, expected - cell.elapsed_seconds);
  }
  for (const auto& [kind, count] : queued) {
    if (count <= 0) continue;
    const double expected = ExpectedSeconds(kind, running);
    if (expected < 0) return -1;
    left += count * expected;
  }
  return left / parallel_;
}

std::string Progress::Line(double elapsed_seconds, const std::vector<RunningCell>& running,
                           int bar_width) const {
  const int filled = total_ == 0 ? bar_width : bar_width * done_ / total_;
  std::string line = absl::StrCat("[", std::string(filled, '#'),
                                  std::string(bar_width - filled, '.'), "] ", done_, "/",
                                  total_, " cells");
  if (failed_ > 0) absl::StrAppend(&line, ", ", failed_, " failed");
  const double left = EstimatedSecondsLeft(running);
  absl::StrAppend(&line, ", ", FormatDuration(elapsed_seconds), " elapsed, ETA ",
                  left < 0 ? "--:--" : FormatDuration(left));
  for (size_t i = 0; i < running.size(); ++i) {
    const RunningCell& cell = running[i];
    absl::StrAppend(&line, i == 0 ? " | running: " : ", ", cell.label);
    if (cell.steps_total > 0) {
      absl::StrAppend(&line, " ", cell.steps_done, "/", cell.steps_total);
    } else {
      absl::StrAppend(&line, " ", FormatDuration(cell.elapsed_seconds));
    }
  }
  return line;
}

std::string FormatDuration(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  if (total >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  }
  return absl::StrFormat("%02d:%02d", total / 60, total % 60);
}

}  // namespace pipebench
