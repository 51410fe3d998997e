// Runs one cell of an experiment in this process and returns its record (a JSON object).
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_CELL_RUNNER_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_CELL_RUNNER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/harness/experiment_config.h"
#include "engine/model/gpt.h"
#include "engine/sim/cost_model.h"
#include "nlohmann/json.hpp"

namespace pipebench {

struct CellInputs {
  // The measured model costs, for cells with a costs_key.
  std::optional<CostModel> costs;
  // Multiplies every compute cost the cell's schedule is timed with (simulated throughput and the
  // simulated clock of training runs), and makes the real compute actions of executor and
  // distributed cells take that many times as long. The CI gate's tests inject regressions so.
  double slow_down = 1.0;
  // The stages' unit ranges its costs were measured on (a costs cell balanced by time records
  // them); empty: blocks spread evenly.
  std::vector<UnitRange> partition;
  // Where the cell's data is (ResolveDataPath of its "data", resolved once by the runner, which
  // may have been given the file with --data); empty: resolve "data" here.
  std::string data_path;
  // The train binary a distributed cell's ranks run: one that links the runner's schedules.
  std::string train_binary;
  // Called with (steps done, steps in all) as a training or NAS cell advances; may be empty.
  std::function<void(std::int64_t, std::int64_t)> report_steps;
  // For cells run inside the harness (simulations): called now and then, an error stops the cell
  // (its time limit, an interrupt); may be empty.
  std::function<absl::Status()> check_in;
};

// A costs cell's record holds the cost model under "costs" (and, balanced by time, the stages'
// unit ranges under "partition"); these read them back.
absl::StatusOr<CostModel> CostsFromRecord(const nlohmann::json& record);
absl::StatusOr<std::vector<UnitRange>> PartitionFromRecord(const nlohmann::json& record);
nlohmann::json PartitionToJson(const std::vector<UnitRange>& partition);

// Errors name the cell's kind and what failed. A distributed cell needs one core per stage and
// fails with FailedPrecondition on a machine with fewer.
absl::StatusOr<nlohmann::json> RunCell(const Cell& cell, const CellInputs& inputs);

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_CELL_RUNNER_H_
