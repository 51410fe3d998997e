#!/usr/bin/env bash
# Copies the first of CANDIDATE... that exists and has the expected sha256 to OUT.
#
#   verify_copy.sh SHA256 OUT CANDIDATE...
#
# Exit 0: copied, and the chosen path is printed. Exit 3: no candidate exists. Exit 4: a candidate
# exists but none has the checksum (each rejected one is named on stderr). Used by the data
# repository rule (data_file.bzl) for local mirrors, and tested on its own (verify_copy_test.sh).
set -uo pipefail
expected=$1 out=$2
shift 2
status=3
for candidate in "$@"; do
  [[ -f $candidate ]] || continue
  actual=$(sha256sum "$candidate" | cut -d' ' -f1)
  if [[ $actual != "$expected" ]]; then
    echo "rejected $candidate: sha256 $actual, expected $expected" >&2
    status=4
    continue
  fi
  cp "$candidate" "$out" || exit 1
  echo "$candidate"
  exit 0
done
exit $status
