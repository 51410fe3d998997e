#include "benchmarks/harness/field_reader.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pipebench {

using nlohmann::json;

FieldReader::FieldReader(const json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    Fail("", absl::StrCat("expected an object, got ", object_.type_name()));
  }
}

void FieldReader::AllowOnly(const std::set<std::string>& allowed) {
  if (!object_.is_object()) return;
  for (const auto& [key, value] : object_.items()) {
    if (allowed.count(key) == 0) {
      Fail(key, absl::StrCat("unknown key; allowed: ", absl::StrJoin(allowed, ", ")));
    }
  }
}

std::string FieldReader::String(const std::string& key, std::optional<std::string> fallback) {
  const json* value = Find(key, fallback.has_value());
  if (value == nullptr) return fallback.value_or("");
  if (!value->is_string()) {
    Fail(key, absl::StrCat("expected a string, got ", value->type_name()));
    return "";
  }
  return value->get<std::string>();
}

int FieldReader::Int(const std::string& key, int minimum, std::optional<int> fallback) {
  const json* value = Find(key, fallback.has_value());
  if (value == nullptr) return fallback.value_or(minimum);
  return IntValue(*value, key, minimum);
}

double FieldReader::Number(const std::string& key, double minimum, std::optional<double> fallback) {
  const json* value = Find(key, fallback.has_value());
  if (value == nullptr) return fallback.value_or(minimum);
  if (!value->is_number() || value->get<double>() < minimum) {
    Fail(key, absl::StrCat("expected a number >= ", minimum, ", got ", value->dump()));
    return minimum;
  }
  return value->get<double>();
}

std::vector<int> FieldReader::IntList(const std::string& key, int minimum,
                                      std::optional<std::vector<int>> fallback) {
  std::vector<int> out;
  const json* value = Find(key, fallback.has_value());
  if (value == nullptr) return fallback.value_or(out);
  if (!NonEmptyList(*value, key)) return out;
  for (size_t i = 0; i < value->size(); ++i) {
    out.push_back(IntValue((*value)[i], absl::StrCat(key, "[", i, "]"), minimum));
  }
  return out;
}

std::vector<std::string> FieldReader::StringList(const std::string& key,
                                                 const std::set<std::string>& allowed,
                                                 std::optional<std::vector<std::string>> fallback) {
  std::vector<std::string> out;
  const json* value = Find(key, fallback.has_value());
  if (value == nullptr) return fallback.value_or(out);
  if (!NonEmptyList(*value, key)) return out;
  for (size_t i = 0; i < value->size(); ++i) {
    const std::string where = absl::StrCat(key, "[", i, "]");
    if (!(*value)[i].is_string()) {
      Fail(where, absl::StrCat("expected a string, got ", (*value)[i].type_name()));
      continue;
    }
    const std::string item = (*value)[i].get<std::string>();
    if (!allowed.empty() && allowed.count(item) == 0) {
      Fail(where, absl::StrCat("'", item, "' is not one of ", absl::StrJoin(allowed, ", ")));
    }
    out.push_back(item);
  }
  return out;
}

json FieldReader::List(const std::string& key) {
  const json* value = Find(key, false);
  if (value == nullptr || !NonEmptyList(*value, key)) return json::array();
  return *value;
}

void FieldReader::Fail(const std::string& key, const std::string& message) {
  if (!status_.ok()) return;
  const std::string where = key.empty() ? path_ : (path_.empty() ? key : path_ + "." + key);
  status_ = absl::InvalidArgumentError(absl::StrCat(where, ": ", message));
}

const json* FieldReader::Find(const std::string& key, bool optional) {
  if (Has(key)) return &object_.at(key);
  if (!optional) Fail(key, "required");
  return nullptr;
}

bool FieldReader::NonEmptyList(const json& value, const std::string& key) {
  if (!value.is_array() || value.empty()) {
    Fail(key, absl::StrCat("expected a non-empty list, got ", value.dump()));
    return false;
  }
  return true;
}

int FieldReader::IntValue(const json& value, const std::string& where, int minimum) {
  if (!value.is_number_integer() || value.get<long long>() < minimum ||
      value.get<long long>() > (1 << 30)) {
    Fail(where, absl::StrCat("expected an integer >= ", minimum, ", got ", value.dump()));
    return minimum;
  }
  return value.get<int>();
}

}  // namespace pipebench
