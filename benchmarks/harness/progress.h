// A progress line for long matrices: cells done of total, failures, elapsed time, an ETA, and the
// cells running now with their own progress.
//
// The ETA charges every queued cell the expected duration of its kind, and every running cell
// what is left of its own: its elapsed time scaled by the steps it has done when it reports them,
// else its kind's expected duration less its elapsed time; divided by the cells run at once. A
// kind's expected duration is the mean of its finished cells, else extrapolated from its running
// cells' progress, else the mean of all finished cells. So the estimate is corrected as cells
// report steps and as they finish, and the line keeps moving while long cells run.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_PROGRESS_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pipebench {

// A cell that is running now.
struct RunningCell {
  std::string kind;
  std::string label;           // e.g. "time_to_accuracy paci seed 0"
  double elapsed_seconds = 0;
  std::int64_t steps_done = 0;  // 0 and 0 until the cell reports steps
  std::int64_t steps_total = 0;
};

class Progress {
 public:
  // `kinds` has the kind of every cell still to run.
  Progress(std::vector<std::string> kinds, int parallel);

  void Finished(const std::string& kind, double seconds, bool ok);

  // "[#######.............] 12/40 cells, 1 failed, 01:02 elapsed, ETA 03:10 | running: a 12/300,
  // b"; the ETA reads "--:--" while nothing is known to estimate it.
  std::string Line(double elapsed_seconds, const std::vector<RunningCell>& running = {},
                   int bar_width = 24) const;

  // Seconds the remaining cells are expected to take; negative while unknown.
  double EstimatedSecondsLeft(const std::vector<RunningCell>& running = {}) const;

 private:
  // Expected duration of a cell of `kind`; negative while unknown.
  double ExpectedSeconds(const std::string& kind, const std::vector<RunningCell>& running) const;

  std::map<std::string, int> remaining_;  // by kind, running cells included
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
