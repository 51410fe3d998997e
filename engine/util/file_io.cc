#include "engine/util/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace pipebench {
namespace {

absl::Status WriteError(absl::string_view what, const std::string& path, int cause) {
  const std::string reason = cause != 0 ? std::strerror(cause) : "the write failed";
  const std::string message = absl::StrCat("cannot write ", what, " '", path, "': ", reason);
  if (cause == ENOSPC || cause == EFBIG || cause == EDQUOT) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::PermissionDeniedError(message);
}

}  // namespace

absl::Status WriteTextFile(const std::string& path, absl::string_view contents,
                           absl::string_view what) {
  errno = 0;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return WriteError(what, path, errno);
  file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  return CloseWritten(file, path, what);
}

absl::Status CloseWritten(std::ofstream& file, const std::string& path, absl::string_view what) {
  errno = 0;
  if (file.is_open()) file.close();
  if (!file) return WriteError(what, path, errno);
  return absl::OkStatus();
}

absl::Status FlushStandardOutput() {
  errno = 0;
  std::cout.flush();
  const bool stream_failed = !std::cout;
  const bool flush_failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  if (stream_failed || flush_failed) {
    const int cause = errno;
    // A write that failed earlier in the run left the stream's error flag, not its errno.
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot write to standard output: ",
        cause != 0 ? std::strerror(cause)
                   : "its writes failed (a full disk, a file-size limit or a closed pipe)"));
  }
  return absl::OkStatus();
}

}  // namespace pipebench
