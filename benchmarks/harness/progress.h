// A progress line for long matrices: cells done of total, failures, elapsed time and an ETA.
//
// The ETA charges every remaining cell the mean duration of the finished cells of its kind (a
// simulation takes milliseconds, a training run minutes), or of all finished cells while none of
// its kind has finished, divided by the cells run at once.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_PROGRESS_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_PROGRESS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace pipebench {

class Progress {
 public:
  // `kinds` has the kind of every cell still to run.
  Progress(std::vector<std::string> kinds, int parallel);

  void Finished(const std::string& kind, double seconds, bool ok);

  // "[#######.............] 12/40 cells, 1 failed, 01:02 elapsed, ETA 03:10"; the ETA reads
  // "--:--" until the first cell has finished.
  std::string Line(double elapsed_seconds, int bar_width = 24) const;

  // Seconds the remaining cells are expected to take; negative while unknown.
  double EstimatedSecondsLeft() const;

 private:
  std::map<std::string, int> remaining_;  // by kind
  std::map<std::string, std::pair<double, int>> finished_;  // kind -> (total seconds, count)
  int total_ = 0;
  int done_ = 0;
  int failed_ = 0;
  int parallel_ = 1;
};

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// mm:ss, or h:mm:ss from an hour on.
std::string FormatDuration(double seconds);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_PROGRESS_H_
