#!/usr/bin/env bash
# Two hosts: two network namespaces joined by a veth pair, each with its own address, one rank in
# each started by its own launcher (--nnodes=2 --node_rank=K, host 0's address as MASTER_ADDR;
# GLOO_SOCKET_IFNAME names host 0's interface, host 1 finds its address by route): the run's losses equal the one-host run's. Where namespaces
# cannot be made (no root or CAP_SYS_ADMIN) the test says SKIPPED (and CI counts it so).
set -uo pipefail
launch="$1"
source "$2"  # skip_test
tag="pb$((RANDOM % 100000))"
host0="${tag}h0" host1="${tag}h1"
# Below the kernel's ephemeral range (32768 up), where any connection could take the port.
port=$((20000 + RANDOM % 12000))
tiny=(--data=synthetic --model=layers=2,embed=16,heads=2,context=8 --micro_batch_size=2
      --stages=2 --microbatches=4 --batches=3 --schedule=1f1b_flush --timeout_seconds=20)

if ! ip netns add "$host0" 2>"$TEST_TMPDIR/netns.err"; then
  skip_test "cannot create network namespaces here: $(cat "$TEST_TMPDIR/netns.err")"
fi
cleanup() { ip netns del "$host0" 2>/dev/null; ip netns del "$host1" 2>/dev/null; }
trap cleanup EXIT
set -e
ip netns add "$host1"
ip link add "${tag}v0" type veth peer name "${tag}v1"
ip link set "${tag}v0" netns "$host0"
ip link set "${tag}v1" netns "$host1"
ip -n "$host0" addr add 10.77.0.1/24 dev "${tag}v0"
ip -n "$host1" addr add 10.77.0.2/24 dev "${tag}v1"
for ns in "$host0" "$host1"; do
  ip -n "$ns" link set lo up
done
ip -n "$host0" link set "${tag}v0" up
ip -n "$host1" link set "${tag}v1" up
set +e

losses() { grep -o '"train_loss":[0-9.e+-]*' "$1"; }
"$launch" --nproc=2 --master_port=$port -- "${tiny[@]}" >"$TEST_TMPDIR/one.out" 2>&1 ||
  { cat "$TEST_TMPDIR/one.out"; echo "FAIL: the one-host run"; exit 1; }

two=(--nnodes=2 --nproc=1 --master_addr=10.77.0.1 --master_port=$((port + 1)) --run_id="$tag")
# Host 0 names its interface; host 1 finds the address it reaches host 0 through by itself.
ip netns exec "$host0" env GLOO_SOCKET_IFNAME="${tag}v0" "$launch" "${two[@]}" --node_rank=0 -- \
  "${tiny[@]}" >"$TEST_TMPDIR/host0.out" 2>&1 &
first=$!
ip netns exec "$host1" "$launch" "${two[@]}" --node_rank=1 -- "${tiny[@]}" \
  >"$TEST_TMPDIR/host1.out" 2>&1
second=$?
wait $first
status=$?
if [[ $status -ne 0 || $second -ne 0 ]]; then
  cat "$TEST_TMPDIR/host0.out" "$TEST_TMPDIR/host1.out"
  echo "FAIL: the two-host run (host 0 exited $status, host 1 $second)"
  exit 1
fi
# Rank 0 prints the losses and the summary (host 0).
if [[ -z $(losses "$TEST_TMPDIR/one.out") ]] ||
   [[ "$(losses "$TEST_TMPDIR/one.out")" != "$(losses "$TEST_TMPDIR/host0.out")" ]]; then
  echo "FAIL: losses differ"; losses "$TEST_TMPDIR/one.out"; cat "$TEST_TMPDIR/host0.out"
  exit 1
fi
grep -q '"backend":"distributed"' "$TEST_TMPDIR/host0.out" ||
  { cat "$TEST_TMPDIR/host0.out"; echo "FAIL: rank 0 (host 0) printed no summary"; exit 1; }
echo "PASS: $(losses "$TEST_TMPDIR/host0.out" | wc -l) losses equal across 10.77.0.1 and 10.77.0.2"
