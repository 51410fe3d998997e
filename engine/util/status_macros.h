// Early-return helpers for absl::Status / absl::StatusOr. Debian's Abseil (20220623) predates
// ABSL_RETURN_IF_ERROR, so the project carries its own two macros, in the style of tensorstore.
#ifndef PIPEBENCH_ENGINE_UTIL_STATUS_MACROS_H_
#define PIPEBENCH_ENGINE_UTIL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if it is an error.
#define PB_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::absl::Status pb_status_ = (expr);            \
    if (!pb_status_.ok()) return pb_status_;       \
  } while (false)

#define PB_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define PB_STATUS_MACROS_CONCAT_(a, b) PB_STATUS_MACROS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs`, which may be a declaration: PB_ASSIGN_OR_RETURN(auto x, MakeX());
#define PB_ASSIGN_OR_RETURN(lhs, expr) \
  PB_ASSIGN_OR_RETURN_IMPL_(PB_STATUS_MACROS_CONCAT_(pb_statusor_, __LINE__), lhs, expr)

#define PB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // PIPEBENCH_ENGINE_UTIL_STATUS_MACROS_H_
