#include "benchmarks/harness/experiment_config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <tuple>
#include <optional>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "benchmarks/harness/field_reader.h"
#include "benchmarks/harness/study_costs.h"
#include "engine/model/gpt.h"
#include "engine/platform/device.h"
#include "engine/schedule/registry.h"
#include "engine/util/json_text.h"
#include "engine/util/status_macros.h"
#include "engine/util/workspace.h"
#include "nas/entangled/supernet.h"
#include "nas/search/preset.h"

namespace pipebench {
namespace {

using nlohmann::json;

constexpr char kDefaultData[] = "tinyshakespeare";
constexpr char kDefaultModel[] = "layers=8,embed=64,heads=4,mlp_ratio=4,context=32";

struct ScheduleVariant {
  std::string name;
  json accumulation = json::array({0});  // 0: the schedule's default (a = m)
  std::vector<int> chunks = {1};
};

absl::StatusOr<std::vector<ScheduleVariant>> ParseSchedules(FieldReader& study,
                                                            const std::string& path) {
  std::vector<ScheduleVariant> variants;
  const json list = study.List("schedules");
  PB_RETURN_IF_ERROR(study.status());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = absl::StrCat(path, ".schedules[", i, "]");
    ScheduleVariant variant;
    if (list[i].is_string()) {
      variant.name = list[i].get<std::string>();
    } else {
      FieldReader entry(list[i], where);
      entry.AllowOnly({"name", "accumulation", "chunks"});
      variant.name = entry.String("name");
      if (entry.Has("accumulation")) variant.accumulation = entry.List("accumulation");
      variant.chunks = entry.IntList("chunks", 1, std::vector<int>{1});
      PB_RETURN_IF_ERROR(entry.status());
    }
    if (absl::Status known = CheckScheduleName(variant.name); !known.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", known.message()));
    }
    variants.push_back(std::move(variant));
  }
  return variants;
}

// Micro-batch counts for `stages`: the listed ones, or multiples of p.
std::vector<int> MicrobatchesFor(const std::vector<int>& absolute,
                                 const std::vector<int>& per_stage, int stages) {
  if (!absolute.empty()) return absolute;
  std::vector<int> out;
  for (int k : per_stage) out.push_back(k * stages);
  return out;
}

std::string Variant(const std::string& name, const json& accumulation, int chunks) {
  std::string label = name;
  if (!(accumulation.is_number_integer() && accumulation.get<int>() == 0)) {
    absl::StrAppend(&label, " a=",
                    accumulation.is_string() ? accumulation.get<std::string>()
                                             : accumulation.dump());
  }
  if (chunks > 1) absl::StrAppend(&label, " v=", chunks);
  return label;
}

Cell MakeCell(const std::string& study, const std::string& kind, json params,
              std::string costs_key = "") {
  Cell cell;
  cell.study = study;
  cell.kind = kind;
  cell.params = std::move(params);
  // Costs cells are shared by every study that times the same model; any other cell belongs to
  // its study, even when another study asks for the same parameters.
  cell.key = kind == kCostsCell ? absl::StrCat(kind, " ", cell.params.dump())
                                : absl::StrCat(kind, " ", study, " ", cell.params.dump());
  cell.costs_key = std::move(costs_key);
  return cell;
}

class Expander {
 public:
  absl::Status Top(const json& root) {
    FieldReader top(root, "");
    top.AllowOnly({"experiment", "description", "seeds", "data", "device", "studies"});
    config_.experiment = top.String("experiment");
    config_.description = top.String("description");
    seeds_ = top.IntList("seeds", 0, std::vector<int>{0});
    // A seed listed twice would be two cells with one key: one record written twice.
    for (size_t i = 0; i < seeds_.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (seeds_[i] == seeds_[j]) {
          top.Fail(absl::StrCat("seeds[", i, "]"),
                   absl::StrCat(seeds_[i], " is listed twice (also seeds[", j, "])"));
        }
      }
    }
    data_ = top.String("data", std::string(kDefaultData));
    device_ = top.String("device", "cpu");
    if (const absl::StatusOr<torch::Device> device = ParseDevice(device_); !device.ok()) {
      top.Fail("device", std::string(device.status().message()));
    }
    const json studies = top.List("studies");
    PB_RETURN_IF_ERROR(top.status());
    if (config_.experiment.empty() ||
        config_.experiment.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
            std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "experiment: must be a non-empty name of [a-z0-9_-] (it names reports/<experiment>), "
          "got '", config_.experiment, "'"));
    }
    std::set<std::string> names;
    for (size_t i = 0; i < studies.size(); ++i) {
      const std::string path = absl::StrCat("studies[", i, "]");
      FieldReader study(studies[i], path);
      const std::string name = study.String("name");
      const std::string kind = study.String("kind");
      study.String("note", "");  // shown under the study's heading in the report
      PB_RETURN_IF_ERROR(study.status());
      if (!names.insert(name).second) {
        return absl::InvalidArgumentError(absl::StrCat(path, ".name: '", name, "' used twice"));
      }
      if (kind == "pipeline") {
        PB_RETURN_IF_ERROR(Pipeline(study, path, name));
      } else if (kind == "training") {
        PB_RETURN_IF_ERROR(Training(study, path, name));
      } else if ((kind == "nas" || kind == "nas_cost") && device_ != "cpu") {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ".kind: ", kind, " studies run on the CPU only; the experiment's device is '",
            device_, "'"));
      } else if (kind == "nas") {
        PB_RETURN_IF_ERROR(Nas(study, path, name));
      } else if (kind == "nas_cost") {
        PB_RETURN_IF_ERROR(NasCost(study, path, name));
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ".kind: '", kind, "' is not one of pipeline, training, nas, nas_cost"));
      }
    }
    config_.source = root;
    // Costs cells first: the cells that need them run after.
    std::stable_partition(config_.cells.begin(), config_.cells.end(),
                          [](const Cell& c) { return c.kind == kCostsCell; });
    return absl::OkStatus();
  }

  ExperimentConfig Release() { return std::move(config_); }

 private:
  struct Grid {
    std::vector<ScheduleVariant> schedules;
    std::vector<int> stages, microbatches, microbatches_per_stage;
    // One GPT spec, or several (a model-size axis), with each one's layer count.
    std::vector<std::pair<std::string, int>> models;
    int micro_batch_size = 8;
  };

  absl::StatusOr<Grid> ReadGrid(FieldReader& study, const std::string& path) {
    Grid grid;
    PB_ASSIGN_OR_RETURN(grid.schedules, ParseSchedules(study, path));
    grid.stages = study.IntList("stages", 1);
    if (study.Has("microbatches") == study.Has("microbatches_per_stage")) {
      study.Fail("microbatches", "give exactly one of microbatches, microbatches_per_stage");
    }
    grid.microbatches = study.IntList("microbatches", 1, std::vector<int>{});
    grid.microbatches_per_stage = study.IntList("microbatches_per_stage", 1, std::vector<int>{});
    const json* models = study.Raw("model");
    const std::vector<std::string> specs =
        models != nullptr && models->is_array()
            ? study.StringList("model")
            : std::vector<std::string>{study.String("model", std::string(kDefaultModel))};
    grid.micro_batch_size = study.Int("micro_batch_size", 1, 8);
    PB_RETURN_IF_ERROR(study.status());
    for (const std::string& spec : specs) {
      auto model = ParseGptConfig(spec, 256);
      if (!model.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(study.Path("model"), ": ", model.status().message()));
      }
      grid.models.emplace_back(spec, model->layers);
    }
    return grid;
  }

  // Calls `each` with the model and schedule parameters of every (model, schedule, p, m, a, v)
  // of `grid`, after checking the schedule accepts them and the model has a layer per stage.
  absl::Status ForEachSchedule(const Grid& grid, int batches, const std::string& path,
                               const std::function<void(const std::string&, const ScheduleVariant&,
                                                        const ScheduleParams&, json)>& each) {
    for (const auto& [spec, layers] : grid.models) {
      PB_RETURN_IF_ERROR(ForEachScheduleOf(spec, layers, grid, batches, path, each));
    }
    return absl::OkStatus();
  }

  absl::Status ForEachScheduleOf(
      const std::string& spec, int layers, const Grid& grid, int batches, const std::string& path,
      const std::function<void(const std::string&, const ScheduleVariant&, const ScheduleParams&,
                               json)>& each) {
    for (const ScheduleVariant& variant : grid.schedules) {
      for (int p : grid.stages) {
        for (int m : MicrobatchesFor(grid.microbatches, grid.microbatches_per_stage, p)) {
          for (const json& a_spec : variant.accumulation) {
            for (int v : variant.chunks) {
              ScheduleParams params;
              params.stages = p;
              params.microbatches = m;
              params.batches = batches;
              params.chunks = v;
              auto accumulation = EvaluateAccumulation(a_spec, p, m);
              if (!accumulation.ok()) {
                return absl::InvalidArgumentError(
                    absl::StrCat(path, ".schedules (", variant.name, ", p=", p, ", m=", m,
                                 "): ", accumulation.status().message()));
              }
              params.accumulation = *accumulation;
              auto schedule = MakeSchedule(variant.name, params);
              if (!schedule.ok()) {
                return absl::InvalidArgumentError(absl::StrCat(path, ": ", variant.name, " at ",
                                                               DescribeParams(params), ": ",
                                                               schedule.status().message()));
              }
              if (params.model_stages() > layers) {
                return absl::InvalidArgumentError(absl::StrCat(
                    path, ": ", params.model_stages(), " model stages (p=", p, ", v=", v,
                    ") but model '", spec, "' has only ", layers,
                    " layers (partitioned by layers, every stage needs one)"));
              }
              each(spec, variant, params, Variant(variant.name, a_spec, v));
            }
          }
        }
      }
    }
    return absl::OkStatus();
  }

  json ScheduleJson(const ScheduleVariant& variant, const ScheduleParams& params,
                    const json& label) {
    return {{"schedule", variant.name},
            {"variant", label},
            {"stages", params.stages},
            {"microbatches", params.microbatches},
            {"accumulation", params.effective_accumulation()},
            {"chunks", params.chunks}};
  }

  // `partition`: "layers" (blocks spread evenly) or "time" (balanced by measured unit costs).
  std::string CostsCell(const std::string& study, const Grid& grid, const std::string& model,
                        int model_stages, const std::string& partition = "layers") {
    json params = {{"model", model},
                   {"data", data_},
                   {"model_stages", model_stages},
                   {"micro_batch_size", grid.micro_batch_size}};
    if (partition != "layers") params["partition"] = partition;
    OnDevice(params);
    Cell cell = MakeCell(study, kCostsCell, params);
    if (costs_keys_.insert(cell.key).second) config_.cells.push_back(cell);
    return cell.key;
  }

  absl::Status Pipeline(FieldReader& study, const std::string& path, const std::string& name) {
    study.AllowOnly({"name", "kind", "note", "schedules", "stages", "microbatches",
                     "microbatches_per_stage", "batches", "backends", "model",
                     "micro_batch_size", "costs", "link", "steps", "repeats"});
    PB_ASSIGN_OR_RETURN(Grid grid, ReadGrid(study, path));
    const int batches = study.Int("batches", 1, 16);
    const int steps = study.Int("steps", 1, 8);
    // Distributed runs measure wall-clock on a machine that may be busy: each runs `repeats`
    // times, the schedules interleaved (repeat-major), so a slow spell hits both sides of a ratio.
    const int repeats = study.Int("repeats", 1, 1);
    const size_t first_cell = config_.cells.size();
    const std::vector<std::string> backends = study.StringList(
        "backends", {kSimulateCell, kExecutorCell, kDistributedCell},
        std::vector<std::string>{kSimulateCell});
    json link = {{"latency_seconds", 0.0}, {"bandwidth_bytes_per_second", 0.0}};
    if (const json* raw = study.Raw("link")) {
      FieldReader reader(*raw, study.Path("link"));
      reader.AllowOnly({"latency_seconds", "bandwidth_bytes_per_second"});
      link = {{"latency_seconds", reader.Number("latency_seconds", 0, 0.0)},
              {"bandwidth_bytes_per_second", reader.Number("bandwidth_bytes_per_second", 0, 0.0)}};
      PB_RETURN_IF_ERROR(reader.status());
    }
    PB_ASSIGN_OR_RETURN(const StudyCosts costs,
                        ReadStudyCosts(study.Raw("costs"), study.Path("costs")));
    PB_RETURN_IF_ERROR(study.status());
    if (!costs.measured() && backends != std::vector<std::string>{kSimulateCell}) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".costs: cost files and inline costs only time simulations; executor and "
                "distributed backends need the measured model"));
    }
    absl::Status cell_status;
    const absl::Status status = ForEachSchedule(
        grid, batches, path,
        [&](const std::string& model, const ScheduleVariant& variant,
            const ScheduleParams& params, json label) {
      json base = ScheduleJson(variant, params, label);
      base["model"] = model;
      base["micro_batch_size"] = grid.micro_batch_size;
      for (const std::string& backend : backends) {
        json cell = base;
        std::string costs_key;
        if (backend == kSimulateCell) {
          cell["batches"] = batches;
          if (costs.measured()) {
            cell["link"] = link;
            costs_key = CostsCell(name, grid, model, params.model_stages());
          } else if (costs.pinned) {
            absl::StatusOr<json> cut =
                PinnedCellCosts(costs, study.Path("costs"), model, grid.micro_batch_size,
                                params.model_stages(), link);
            if (!cut.ok() && cell_status.ok()) cell_status = cut.status();
            cell["costs"] = cut.value_or(json());
            cell["costs_file"] = costs.file;
          } else {
            cell["costs"] = costs.model;
            if (!costs.file.empty()) cell["costs_file"] = costs.file;
            cell.erase("model");
            cell.erase("micro_batch_size");
          }
          config_.cells.push_back(MakeCell(name, backend, cell, costs_key));
          continue;
        }
        cell["steps"] = steps;
        cell["data"] = data_;
        OnDevice(cell);
        if (backend == kExecutorCell) {
          costs_key = CostsCell(name, grid, model, params.model_stages());
        }
        for (int seed : seeds_) {
          cell["seed"] = seed;
          for (int repeat = 0; repeat < (backend == kDistributedCell ? repeats : 1); ++repeat) {
            if (repeats > 1 && backend == kDistributedCell) cell["repeat"] = repeat;
            config_.cells.push_back(MakeCell(name, backend, cell, costs_key));
          }
        }
      }
    });
    if (repeats > 1) {
      // Repeat-major among this study's distributed cells, which the runner takes in order.
      std::vector<size_t> slots;
      std::vector<Cell> distributed;
      for (size_t i = first_cell; i < config_.cells.size(); ++i) {
        if (config_.cells[i].kind != kDistributedCell) continue;
        slots.push_back(i);
        distributed.push_back(config_.cells[i]);
      }
      // By repeat, then by what a ratio pairs on (seed, grid point), so the schedules of one
      // pair run next to each other.
      auto pairing = [](const Cell& c) {
        const json& p = c.params;
        return std::make_tuple(p.value("repeat", 0), p.value("seed", 0), p.value("model", ""),
                               p.value("stages", 0), p.value("microbatches", 0));
      };
      std::stable_sort(distributed.begin(), distributed.end(),
                       [&](const Cell& a, const Cell& b) { return pairing(a) < pairing(b); });
      for (size_t k = 0; k < slots.size(); ++k) config_.cells[slots[k]] = distributed[k];
    }
    PB_RETURN_IF_ERROR(cell_status);
    return status;
  }

  absl::Status Training(FieldReader& study, const std::string& path, const std::string& name) {
    study.AllowOnly({"name", "kind", "note", "schedules", "stages", "microbatches",
                     "microbatches_per_stage", "model", "micro_batch_size", "steps",
                     "budget_seconds", "budget_flush_steps", "lr", "warmup", "eval_every",
                     "eval_tokens", "target", "partition", "convergence_fractions"});
    PB_ASSIGN_OR_RETURN(Grid grid, ReadGrid(study, path));
    // Equal steps for every schedule, or an equal budget of simulated time: in seconds, or as
    // the time 1F1B-flush takes for a number of steps (the same number of flush steps on any
    // machine, whatever its measured costs).
    if (study.Has("steps") + study.Has("budget_seconds") + study.Has("budget_flush_steps") != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": give exactly one of steps (every schedule trains as many mini-batches), "
                "budget_seconds or budget_flush_steps (every schedule trains for as long on the "
                "simulated clock)"));
    }
    const int steps = study.Has("steps") ? study.Int("steps", 1) : 0;
    const double budget = study.Has("budget_seconds") ? study.Number("budget_seconds", 0) : 0;
    if (study.Has("budget_seconds") && !(budget > 0)) {
      study.Fail("budget_seconds", "expected a number of simulated seconds > 0");
    }
    const int budget_flush_steps =
        study.Has("budget_flush_steps") ? study.Int("budget_flush_steps", 1) : 0;
    const double lr = study.Number("lr", 0, 1e-3);
    const int warmup = study.Int("warmup", 0, 10);
    const int eval_every = study.Int("eval_every", 1, std::max(1, steps / 10));
    const int eval_tokens = study.Int("eval_tokens", 1, 8192);
    const std::string partition = study.String("partition", "layers");
    if (partition != "layers" && partition != "time") {
      study.Fail("partition", "expected \"layers\" (blocks spread evenly) or \"time\" (stages "
                              "balanced by measured unit costs)");
    }
    if (const json* target = study.Raw("target")) {
      const bool paper = target->is_string() && target->get<std::string>() == "paper";
      const bool value = target->is_number() && target->get<double>() > 0;
      const bool fraction = target->is_object() && target->size() == 1 &&
                            target->contains("flush_fraction") &&
                            (*target)["flush_fraction"].is_number() &&
                            (*target)["flush_fraction"].get<double>() > 0 &&
                            (*target)["flush_fraction"].get<double>() <= 1;
      if (!paper && !value && !fraction) {
        study.Fail("target", "expected \"paper\" (the lowest loss every compared run reaches), "
                             "a validation loss > 0, or {\"flush_fraction\": f} with 0 < f <= 1");
      }
    }
    // The report's convergence section (benchmarks/report/report_convergence.py): targets at
    // the losses 1F1B-flush reaches at these fractions of its run; runs of equal steps only.
    if (study.Has("convergence_fractions")) {
      const json fractions = study.List("convergence_fractions");
      for (size_t i = 0; i < fractions.size(); ++i) {
        if (!fractions[i].is_number() || !(fractions[i].get<double>() > 0) ||
            fractions[i].get<double>() > 1) {
          study.Fail(absl::StrCat("convergence_fractions[", i, "]"),
                     absl::StrCat("expected a fraction of 1F1B-flush's run, 0 < f <= 1, got ",
                                  fractions[i].dump()));
        }
      }
      if (steps == 0) {
        study.Fail("convergence_fractions",
                   "needs runs of equal steps (\"steps\"), not a time budget");
      }
    }
    PB_RETURN_IF_ERROR(study.status());
    // With a budget the number of mini-batches is worked out per cell from its schedule's
    // simulated batch time; one batch stands in for checking the schedule's parameters here.
    return ForEachSchedule(grid, steps > 0 ? steps : 1, path,
                           [&](const std::string& model, const ScheduleVariant& variant,
                               const ScheduleParams& params, json label) {
      json cell = ScheduleJson(variant, params, label);
      cell.update({{"model", model},
                   {"micro_batch_size", grid.micro_batch_size},
                   {"lr", lr},
                   {"warmup", warmup},
                   {"eval_every", eval_every},
                   {"eval_tokens", eval_tokens},
                   {"data", data_}});
      if (steps > 0) {
        cell["steps"] = steps;
      } else if (budget_flush_steps > 0) {
        cell["budget_flush_steps"] = budget_flush_steps;
      } else {
        cell["budget_seconds"] = budget;
      }
      if (partition != "layers") cell["partition"] = partition;
      OnDevice(cell);
      const std::string costs_key =
          CostsCell(name, grid, model, params.model_stages(), partition);
      for (int seed : seeds_) {
        cell["seed"] = seed;
        config_.cells.push_back(MakeCell(name, kTrainingCell, cell, costs_key));
      }
    });
  }

  // The space file and the named preset, read now so a bad name fails the config, not a cell;
  // the preset's settings go into every cell (and so into its key and record).
  absl::Status SpaceAndPreset(FieldReader& study, const std::string& path, json& base,
                              SearchSpace* parsed_space = nullptr,
                              NasPreset* parsed_preset = nullptr) {
    const std::string space = study.String("space");
    const std::string preset_name = study.String("preset", "pipebench");
    PB_RETURN_IF_ERROR(study.status());
    std::ifstream file(RepositoryPath(space));
    if (!file) {
      return absl::NotFoundError(absl::StrCat(path, ".space: cannot read '", space, "'"));
    }
    std::stringstream text;
    text << file.rdbuf();
    // The vocabulary comes from the data at run time; the largest byte value stands in here.
    absl::StatusOr<SearchSpace> parsed = ParseSearchSpace(text.str(), 256);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".space: '", space, "': ", parsed.status().message()));
    }
    if (parsed_space != nullptr) *parsed_space = *parsed;
    absl::StatusOr<NasPreset> preset = LoadNasPreset(preset_name);
    if (!preset.ok()) {
      return absl::Status(preset.status().code(),
                          absl::StrCat(path, ".preset: ", preset.status().message()));
    }
    base["space"] = space;
    base["preset"] = NasPresetToJson(*preset);
    if (parsed_preset != nullptr) *parsed_preset = *preset;
    return absl::OkStatus();
  }

  absl::Status Nas(FieldReader& study, const std::string& path, const std::string& name) {
    if (study.Has("pipelines")) return NasInPipelines(study, path, name);
    study.AllowOnly({"name", "kind", "note", "space", "preset", "optimizers", "storages",
                     "attention", "steps", "batch_size", "retrain_steps", "retrain_from",
                     "search_candidates", "random_architectures", "checkpoints", "data"});
    json base = {
        {"steps", study.Int("steps", 1)},
        {"batch_size", study.Int("batch_size", 1, 8)},
        {"retrain_steps", study.Int("retrain_steps", 0, 0)},
        {"retrain_from", RetrainFrom(study)},
        {"search_candidates", study.Int("search_candidates", 1, 32)},
        {"random_architectures", study.Int("random_architectures", 1, 8)},
        {"checkpoints", study.Int("checkpoints", 1, 10)},
        {"data", study.String("data", data_)},
    };
    const std::vector<std::string> optimizers = study.StringList(
        "optimizers", {"darts", "darts_sparsemax", "drnas", "gdas", "spos", "random"});
    const std::vector<std::string> storages = Storages(study);
    const std::string attention = study.String("attention", "exact");
    PB_RETURN_IF_ERROR(SpaceAndPreset(study, path, base));
    if (attention != "exact" && attention != "reference") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".attention: '", attention, "' is not one of exact, reference"));
    }
    for (const std::string& optimizer : optimizers) {
      // The random baseline trains standalone networks: no supernet storage to vary.
      const std::vector<std::string> cell_storages =
          optimizer == "random" ? std::vector<std::string>{""} : storages;
      for (const std::string& storage : cell_storages) {
        for (int seed : seeds_) {
          json cell = base;
          cell.update({{"optimizer", optimizer}, {"seed", seed}});
          if (!storage.empty()) cell.update({{"storage", storage}, {"attention", attention}});
          config_.cells.push_back(MakeCell(name, kNasCell, cell));
        }
      }
    }
    return absl::OkStatus();
  }

  std::vector<std::string> RetrainFrom(FieldReader& study) {
    return study.StringList("retrain_from", {"inherited", "scratch"},
                            std::vector<std::string>{"inherited", "scratch"});
  }
  std::vector<std::string> Storages(FieldReader& study) {
    return study.StringList("storages", {"entangled", "separate"},
                            std::vector<std::string>{"entangled"});
  }

  // A NAS study with "pipelines": the supernet searched inside each listed pipeline (optimizers x
  // storages x pipelines x seeds), every pipeline at the study's mini-batch of `batch_size`
  // sequences, cut into `microbatches` micro-batches. The supernet's stages are measured once per
  // (optimizer, storage, model stages), alone on the machine, and shared by the schedules and
  // seeds that run on them, so schedules compare on identical costs.
  absl::Status NasInPipelines(FieldReader& study, const std::string& path,
                              const std::string& name) {
    study.AllowOnly({"name", "kind", "note", "space", "preset", "optimizers", "storages", "steps",
                     "batch_size", "retrain_steps", "retrain_from", "data", "pipelines",
                     "gdas_temperature"});
    const int batch_size = study.Int("batch_size", 1, 8);
    const int steps = study.Int("steps", 1);
    // Two mini-batches a step: the schedule's mini-batch count must stay an int.
    if (steps > (1 << 29)) study.Fail("steps", absl::StrCat("at most 2^29, got ", steps));
    json base = {
        {"steps", steps},
        {"retrain_steps", study.Int("retrain_steps", 0, 0)},
        {"retrain_from", RetrainFrom(study)},
        {"data", study.String("data", data_)},
        {"gdas_temperature", study.Number("gdas_temperature", 1e-3, 1.0)},
    };
    // Alpha trains on gradients: the random baseline and SPOS (which searches afterwards) do not
    // run in a pipeline yet.
    const std::vector<std::string> optimizers =
        study.StringList("optimizers", {"darts", "darts_sparsemax", "drnas", "gdas"});
    const std::vector<std::string> storages = Storages(study);
    const json pipelines = study.List("pipelines");
    SearchSpace space;
    NasPreset preset;
    PB_RETURN_IF_ERROR(SpaceAndPreset(study, path, base, &space, &preset));
    if (preset.dropout > 0 || preset.tied_embeddings || preset.weights.gradient_clip > 0 ||
        preset.architecture.gradient_clip > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".preset: '", preset.name, "' uses dropout, tied embeddings or gradient "
          "clipping, which the pipelined supernet does not take yet; use a preset without them "
          "(pipebench)"));
    }
    const int units = static_cast<int>(space.max_layers()) + 2;
    std::vector<json> pipeline_params;
    for (size_t i = 0; i < pipelines.size(); ++i) {
      const std::string where = absl::StrCat(path, ".pipelines[", i, "]");
      FieldReader entry(pipelines[i], where);
      entry.AllowOnly({"schedule", "stages", "microbatches", "accumulation", "chunks"});
      ScheduleParams params;
      const std::string schedule = entry.String("schedule");
      params.stages = entry.Int("stages", 1);
      params.microbatches = entry.Int("microbatches", 1);
      params.chunks = entry.Int("chunks", 1, 1);
      params.batches = 2 * steps;
      const json accumulation = entry.Has("accumulation") ? *entry.Raw("accumulation") : json(0);
      PB_RETURN_IF_ERROR(entry.status());
      if (absl::Status known = CheckScheduleName(schedule); !known.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".schedule: ", known.message()));
      }
      absl::StatusOr<int> a =
          EvaluateAccumulation(accumulation, params.stages, params.microbatches);
      if (!a.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".accumulation: ", a.status().message()));
      }
      params.accumulation = *a;
      if (params.accumulation > 0 && params.microbatches % params.accumulation != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".accumulation: ", params.accumulation, " must divide microbatches ",
            params.microbatches, " (every update then trains either alpha or the weights)"));
      }
      if (batch_size % params.microbatches != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".microbatches: ", params.microbatches, " does not divide the study's "
            "batch_size ", batch_size, " (every pipeline trains on the same mini-batch)"));
      }
      absl::StatusOr<std::unique_ptr<Schedule>> made = MakeSchedule(schedule, params);
      if (!made.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", schedule, " at ", DescribeParams(params), ": ",
                         made.status().message()));
      }
      if (params.model_stages() > units) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": ", params.model_stages(), " model stages but the supernet has ", units,
            " units (the embeddings, ", space.max_layers(), " layers, the head)"));
      }
      pipeline_params.push_back({{"schedule", schedule},
                                 {"stages", params.stages},
                                 {"microbatches", params.microbatches},
                                 {"accumulation", params.effective_accumulation()},
                                 {"chunks", params.chunks},
                                 {"micro_batch_size", batch_size / params.microbatches},
                                 {"model_stages", params.model_stages()}});
    }
    for (const std::string& optimizer : optimizers) {
      for (const std::string& storage : storages) {
        for (json pipeline : pipeline_params) {
          const int model_stages = pipeline["model_stages"].get<int>();
          pipeline.erase("model_stages");
          json costs = {{"space", base["space"]},
                        {"preset", base["preset"]},
                        {"data", base["data"]},
                        {"gdas_temperature", base["gdas_temperature"]},
                        {"optimizer", optimizer},
                        {"storage", storage},
                        {"model_stages", model_stages},
                        {"micro_batch_size", pipeline["micro_batch_size"]}};
          const Cell costs_cell = MakeCell(name, kNasPipelineCostsCell, costs);
          if (costs_keys_.insert(costs_cell.key).second) config_.cells.push_back(costs_cell);
          for (int seed : seeds_) {
            json cell = base;
            cell.update(pipeline);
            cell.update({{"optimizer", optimizer}, {"storage", storage}, {"seed", seed}});
            config_.cells.push_back(MakeCell(name, kNasPipelineCell, cell, costs_cell.key));
          }
        }
      }
    }
    return absl::OkStatus();
  }

  // Supernet step time and memory per storage, mixing and attention mode (seed-independent).
  absl::Status NasCost(FieldReader& study, const std::string& path, const std::string& name) {
    study.AllowOnly({"name", "kind", "note", "space", "preset", "storages", "mixings",
                     "attention", "batch_size", "steps", "data"});
    json base = {{"batch_size", study.Int("batch_size", 1, 8)},
                 {"steps", study.Int("steps", 1, 10)},
                 {"data", study.String("data", data_)}};
    const std::vector<std::string> storages = study.StringList(
        "storages", {"entangled", "separate"}, std::vector<std::string>{"entangled", "separate"});
    const std::vector<std::string> mixings = study.StringList(
        "mixings", {"dense", "one_hot"}, std::vector<std::string>{"dense", "one_hot"});
    const std::vector<std::string> attentions = study.StringList(
        "attention", {"exact", "reference"}, std::vector<std::string>{"exact", "reference"});
    PB_RETURN_IF_ERROR(SpaceAndPreset(study, path, base));
    for (const std::string& storage : storages) {
      for (const std::string& attention : attentions) {
        // The reference mode superposes weights: entangled storage only.
        if (attention == "reference" && storage != "entangled") continue;
        for (const std::string& mixing : mixings) {
          json cell = base;
          cell.update({{"storage", storage}, {"attention", attention}, {"mixing", mixing}});
          config_.cells.push_back(MakeCell(name, kNasCostCell, cell));
        }
      }
    }
    return absl::OkStatus();
  }

  ExperimentConfig config_;
  // The experiment's "device" into a cell that computes or times stages; a CPU experiment's cells
  // carry none, so their keys (and resumed results) are those of before devices existed.
  void OnDevice(json& params) const {
    if (device_ != "cpu") params["device"] = device_;
  }

  std::vector<int> seeds_;
  std::string data_;
  std::string device_;
  std::set<std::string> costs_keys_;
};

}  // namespace

absl::StatusOr<int> EvaluateAccumulation(const json& spec, int stages, int microbatches) {
  int value = 0;
  if (spec.is_number_integer()) {
    value = spec.get<int>();
    if (value < 0) return absl::InvalidArgumentError("accumulation must be >= 0");
    return value;
  }
  if (!spec.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("accumulation must be an integer or m, p, kp, p/k; got ", spec.dump()));
  }
  const std::string text = spec.get<std::string>();
  int factor = 0;
  if (text == "m") {
    value = microbatches;
  } else if (text == "p") {
    value = stages;
  } else if (text.size() > 1 && text.back() == 'p' &&
             absl::SimpleAtoi(text.substr(0, text.size() - 1), &factor) && factor > 0) {
    value = factor * stages;
  } else if (text.size() > 2 && text.substr(0, 2) == "p/" &&
             absl::SimpleAtoi(text.substr(2), &factor) && factor > 0) {
    value = stages / factor;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("accumulation must be an integer or m, p, kp, p/k; got '", text, "'"));
  }
  if (value < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("accumulation '", text, "' is ", value, " at p=", stages));
  }
  return value;
}

absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& text) {
  absl::StatusOr<json> root = ParseJsonText(text, {.allow_comments = true});
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the experiment config is not valid JSON: ", root.status().message()));
  }
  Expander expander;
  PB_RETURN_IF_ERROR(expander.Top(*root));
  return expander.Release();
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(ResolvePath(path));
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat("cannot read experiment config '", path,
                                                           "': ", text.status().message()));
  }
  auto config = ParseExperimentConfig(*text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace pipebench
