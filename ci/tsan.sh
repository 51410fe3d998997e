#!/usr/bin/env bash
# The threaded code under ThreadSanitizer: child processes, the communicator, the distributed rank
# runtime (receiver threads, async sends), the harness's progress display and the launcher end to
# end. Suppressions (LibTorch internals only, each justified) are in ci/tsan.supp; the path must
# be absolute, which a .bazelrc cannot write.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec ./bazelw test --config=tsan "$@" \
  --test_env=TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/ci/tsan.supp" \
  //engine/util:subprocess_test //engine/dist:communicator_test //engine/dist:rank_runtime_test \
  //engine/dist:message_order_test \
  //benchmarks/harness:progress_test //engine/cli:launch_cli_test
