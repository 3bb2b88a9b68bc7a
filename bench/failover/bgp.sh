#!/usr/bin/env bash
# bench/failover/bgp.sh — the BGP case of make bench-failover: three tandem
# LB nodes announce one VIP (announce: bgp, mode: ecmp) to a BIRD 2 router
# (AS 65000, hold time 3 s, keepalive 1 s, merge paths on,
# fib_multipath_hash_policy=1) in network namespaces; a client behind the
# router opens a new connection every 5 ms (200 ms timeout) while:
#   - a node stops gracefully (SIGTERM: GRACEFUL_SHUTDOWN, withdrawal,
#     then its listeners close): failed new connections (target 0), and
#     connections established on the surviving nodes that the router's
#     hash-threshold rehash moved (they break);
#   - a node is SIGKILLed: its kernel closes the BGP session, the router
#     withdraws at once;
#   - a node is frozen (SIGSTOP, a hung host): the router withdraws after
#     the hold timer.
# The scenario is testenv/netns's TestBGPECMPSpreadKillAndGracefulStop
# (the same topology and measurements as the test suite); this prints its
# figures. Needs root; installs bird2 if missing. BGP_RUNS (1) repeats it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${BGP_RUNS:-1}
if [ "$(id -u)" != 0 ]; then
  echo "bgp bench needs root (network namespaces)" >&2
  exit 1
fi
fail=0
for i in $(seq 1 "$RUNS"); do
  out=$(cd "$ROOT" && go test -count=1 -run 'TestBGPECMPSpreadKillAndGracefulStop$' -v ./testenv/netns/ 2>&1) || fail=1
  echo "== BGP (BIRD 2 router, 3 nodes, ECMP) run $i =="
  grep -E 'bgp_test.go:[0-9]+: (1200 connections|graceful stop|SIGKILL|SIGSTOP)' <<<"$out" | sed -E 's/^ *bgp_test.go:[0-9]+: /  /'
  grep -E '^(--- FAIL|FAIL)' <<<"$out" || true
done
exit $fail
