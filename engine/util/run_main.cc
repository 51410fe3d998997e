#include "engine/util/run_main.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"

namespace pipebench {

int RunMain(int argc, char** argv, const char* program, const char* usage,
            absl::FunctionRef<absl::Status(const std::vector<char*>& rest)> run) {
  absl::SetProgramUsageMessage(usage);
  // A file-size limit (ulimit -f) would kill the program with SIGXFSZ and no message; ignored,
  // the write fails with EFBIG and the program reports it, as it does a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  absl::Status status;
  try {
    status = run(rest);
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  }
  // Whatever the program printed must have arrived: `simulate > /dev/full` is not a success.
  if (absl::Status flushed = FlushStandardOutput(); status.ok() && !flushed.ok()) {
    status = flushed;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s: error: %s\n", program, std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace pipebench
