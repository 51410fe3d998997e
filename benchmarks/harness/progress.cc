#include "benchmarks/harness/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pipebench {

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

double Progress::EstimatedSecondsLeft() const {
  double all_seconds = 0;
  int all_count = 0;
  for (const auto& [kind, sum_count] : finished_) {
    all_seconds += sum_count.first;
    all_count += sum_count.second;
  }
  double left = 0;
  for (const auto& [kind, count] : remaining_) {
    auto it = finished_.find(kind);
    if (it != finished_.end()) {
      left += count * it->second.first / it->second.second;
    } else if (all_count > 0) {
      left += count * all_seconds / all_count;  // no cell of this kind yet: the overall mean
    } else {
      return -1;
    }
  }
  return left / parallel_;
}

std::string Progress::Line(double elapsed_seconds, int bar_width) const {
  const int filled = total_ == 0 ? bar_width : bar_width * done_ / total_;
  std::string line = absl::StrCat("[", std::string(filled, '#'),
                                  std::string(bar_width - filled, '.'), "] ", done_, "/",
                                  total_, " cells");
  if (failed_ > 0) absl::StrAppend(&line, ", ", failed_, " failed");
  const double left = EstimatedSecondsLeft();
  absl::StrAppend(&line, ", ", FormatDuration(elapsed_seconds), " elapsed, ETA ",
                  left < 0 ? "--:--" : FormatDuration(left));
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
