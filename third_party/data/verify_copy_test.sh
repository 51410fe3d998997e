#!/usr/bin/env bash
# verify_copy.sh copies a mirror only when its checksum matches, and says why it did not.
set -uo pipefail
verify=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'the right bytes\n' >"$dir/good.txt"
printf 'the wrong bytes\n' >"$dir/bad.txt"
good_sha=$(sha256sum "$dir/good.txt" | cut -d' ' -f1)

# A matching mirror is copied and named.
chosen=$(bash "$verify" "$good_sha" "$dir/out1" "$dir/absent.txt" "$dir/good.txt") ||
  fail "a matching mirror was not accepted"
[[ $chosen == "$dir/good.txt" ]] || fail "chose '$chosen'"
cmp -s "$dir/good.txt" "$dir/out1" || fail "the copy differs from the mirror"

# A mirror with another checksum is rejected (exit 4), named on stderr, and nothing is copied.
bash "$verify" "$good_sha" "$dir/out2" "$dir/bad.txt" 2>"$dir/err"
status=$?
[[ $status -eq 4 ]] || fail "wrong checksum gave exit $status, want 4"
grep -q "rejected $dir/bad.txt: sha256 .*, expected $good_sha" "$dir/err" ||
  fail "the rejection does not name the file and both checksums: $(cat "$dir/err")"
[[ ! -e $dir/out2 ]] || fail "a rejected mirror was copied"

# A rejected mirror does not stop a later good one.
bash "$verify" "$good_sha" "$dir/out3" "$dir/bad.txt" "$dir/good.txt" >/dev/null 2>&1 ||
  fail "a good mirror after a bad one was not accepted"

# No mirror at all: exit 3.
bash "$verify" "$good_sha" "$dir/out4" "$dir/absent.txt"
status=$?
[[ $status -eq 3 ]] || fail "no mirror gave exit $status, want 3"
echo PASS
