#include "engine/util/run_main.h"

#include <cstdio>
#include <exception>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"

namespace pipebench {

int RunMain(int argc, char** argv, const char* program, const char* usage,
            absl::FunctionRef<absl::Status(const std::vector<char*>& rest)> run) {
  absl::SetProgramUsageMessage(usage);
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  absl::Status status;
  try {
    status = run(rest);
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s: error: %s\n", program, std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace pipebench
