// Reads the fields of one JSON object that a person wrote (an experiment config, a pinned cost
// file): the first problem is kept and reported with its path ("studies[2].stages[1]: expected an
// integer >= 1, got 0"), and every later read returns its default, so parsing code stays linear.
#ifndef PIPEBENCH_BENCHMARKS_HARNESS_FIELD_READER_H_
#define PIPEBENCH_BENCHMARKS_HARNESS_FIELD_READER_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace pipebench {

class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string path);

  // Every key must be one of `allowed`.
  void AllowOnly(const std::set<std::string>& allowed);

  bool Has(const std::string& key) const { return object_.is_object() && object_.contains(key); }

  // Each reads `key`; without a fallback the key is required.
  std::string String(const std::string& key, std::optional<std::string> fallback = {});
  int Int(const std::string& key, int minimum, std::optional<int> fallback = {});
  double Number(const std::string& key, double minimum, std::optional<double> fallback = {});
  std::vector<int> IntList(const std::string& key, int minimum,
                           std::optional<std::vector<int>> fallback = {});
  // With `allowed` non-empty, every item must be one of them.
  std::vector<std::string> StringList(const std::string& key,
                                      const std::set<std::string>& allowed = {},
                                      std::optional<std::vector<std::string>> fallback = {});
  // A non-empty list, returned as is for element-wise parsing by the caller.
  nlohmann::json List(const std::string& key);

  const nlohmann::json* Raw(const std::string& key) const {
    return Has(key) ? &object_.at(key) : nullptr;
  }

  // Records "<path>.<key>: <message>" unless a problem is already recorded.
  void Fail(const std::string& key, const std::string& message);

  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const absl::Status& status() const { return status_; }

 private:
  const nlohmann::json* Find(const std::string& key, bool optional);
  bool NonEmptyList(const nlohmann::json& value, const std::string& key);
  int IntValue(const nlohmann::json& value, const std::string& where, int minimum);

  const nlohmann::json& object_;
  std::string path_;
  absl::Status status_;
};

}  // namespace pipebench

#endif  // PIPEBENCH_BENCHMARKS_HARNESS_FIELD_READER_H_
