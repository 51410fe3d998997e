// The body every command-line main shares: parse the flags, run the program's library call, and
// report a failure as one line "<program>: error: <message>" with exit status 1. An exception
// that escapes (LibTorch and the JSON library report by exception) becomes that line too, never
// an abort. Output that could not be written (a full disk behind stdout) is a failure too, and a
// file-size limit is a write error, not a silent kill by SIGXFSZ.
#ifndef PIPEBENCH_ENGINE_UTIL_RUN_MAIN_H_
#define PIPEBENCH_ENGINE_UTIL_RUN_MAIN_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace pipebench {

// `run` gets the arguments left after the flags (argv[0] first).
int RunMain(int argc, char** argv, const char* program, const char* usage,
            absl::FunctionRef<absl::Status(const std::vector<char*>& rest)> run);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_RUN_MAIN_H_
