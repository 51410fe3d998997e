// Writing files so that a failed write is an error, never a silent success: a full disk, a
// file-size limit or /dev/full shows only when buffered bytes reach the file, at flush or close,
// so these check the stream after closing it and name the file and the system's reason.
#ifndef PIPEBENCH_ENGINE_UTIL_FILE_IO_H_
#define PIPEBENCH_ENGINE_UTIL_FILE_IO_H_

#include <fstream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace pipebench {

// Writes `contents` to `path` (replacing it) and closes it. `what` names the file for the user
// ("--write_costs", "trace file"): "cannot write --write_costs 'x.json': No space left on device".
absl::Status WriteTextFile(const std::string& path, absl::string_view contents,
                           absl::string_view what = "file");

// Closes a stream written to `path` and reports whether every byte reached the file.
absl::Status CloseWritten(std::ofstream& file, const std::string& path,
                          absl::string_view what = "file");

// Flushes standard output and reports whether everything written to it arrived (a closed pipe or
// a full disk behind `> file`). RunMain calls it after every program.
absl::Status FlushStandardOutput();

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_FILE_IO_H_
