#!/usr/bin/env bash
# bench/failover/run.sh — VIP failover benchmark: tandem against keepalived,
# both run here, in the same network namespaces, in the same run.
#
#   ns $ID-a: eth0 10.99.0.2 (02:99:00:00:00:02)  LB node lbA (priority 150)
#   ns $ID-b: eth0 10.99.0.3 (02:99:00:00:00:03)  LB node lbB (priority 100)
#   ns $ID-c: bridge br0 10.99.0.1                the client (probe, every 10 ms)
#   VIP 10.99.0.100/24
#
# Phases:
#   1. tandem: N hard kills (SIGKILL) of the holder's agent (the host lives
#      on: the crash signal); the client's gap; the restart and
#      preempt-back of each is a planned handover (counted).
#   2. tandem: HOSTDEATHS host deaths of the holder (its bridge port down:
#      no crash signal, gossip's probes decide); the client's gap; the port
#      comes back up and the node takes the VIP back.
#   3. tandem: HANDOVERS planned stops (SIGTERM) of the holder: failed
#      new connections (target 0).
#   4. tandem: FREEZES SIGSTOP of the holder: time until the other serves
#      (target <= 1 s); after SIGCONT: time both held the VIP (target: only
#      a handover's overlap, no fight).
#   5. tandem: SHORT short freezes (SIGSTOP 300 ms) and short link flaps
#      (bridge port down 100 ms) of the holder: VIP takeovers and client
#      switches (target 0).
#   6. tandem: SOAK s of both LB namespaces' CPUs saturated (2 busy loops
#      each, agents at default nice): VIP transitions (target 0).
#   7. keepalived (VRRPv3, unicast) at advert_int 1 and 0.1: N hard kills
#      and HOSTDEATHS host deaths each (keepalived and the node's web
#      server SIGKILLed; the bridge port down), SHORT 300 ms freezes and
#      100 ms flaps, plus the same CPU soak at advert_int 0.1
#      (KEEPALIVED_SOAK=0 skips it).
#
# Needs root (network namespaces) and installs keepalived with apt-get if
# missing. All traffic stays inside the namespaces it creates; everything is
# removed on exit. Exit status 1 when a tandem target is missed.
#
# Env: N (10), HOSTDEATHS (10), HANDOVERS (5), FREEZES (3), SHORT (10),
#      SOAK (60), KEEPALIVED_SOAK (1),
#      PHASES ("kill hostdeath handover freeze short soak keepalived": a
#      subset runs only those), KEEP_LOGS (0: delete the work dir on exit).
set -euo pipefail

N=${N:-10}
HOSTDEATHS=${HOSTDEATHS:-10}
SHORT=${SHORT:-10}
HANDOVERS=${HANDOVERS:-5}
FREEZES=${FREEZES:-3}
SOAK=${SOAK:-60}
KEEPALIVED_SOAK=${KEEPALIVED_SOAK:-1}
PHASES=${PHASES:-kill hostdeath handover freeze short soak keepalived}
has() { [[ " $PHASES " == *" $1 "* ]]; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VIP=10.99.0.100
ID=tfb$$
NSA=$ID-a NSB=$ID-b NSC=$ID-c
declare -A NS=([lbA]=$NSA [lbB]=$NSB) IPOF=([lbA]=10.99.0.2 [lbB]=10.99.0.3)
declare -A MAC=([lbA]=02:99:00:00:00:02 [lbB]=02:99:00:00:00:03) PRIO=([lbA]=150 [lbB]=100)
declare -A PID=()

if [ "$(id -u)" != 0 ]; then
  echo "bench-failover needs root (network namespaces): run it with sudo" >&2
  exit 1
fi
WORK=$(mktemp -d /tmp/tandem-failover.XXXXXX)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '%s %s\n' "$(date +%T.%3N)" "$*" >&2; }

cleanup() {
  set +e
  for k in "${!PID[@]}"; do
    kill -CONT "${PID[$k]}" 2>/dev/null
    kill -9 "${PID[$k]}" 2>/dev/null
  done
  for ns in "$NSA" "$NSB" "$NSC"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  wait 2>/dev/null
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and tools --------------------------------------------------------
log "building tandem and the probe"
(cd "$ROOT" && go build -o "$WORK/tandem" ./cmd/tandem && go build -o "$WORK/probe" ./bench/failover/probe)
T=$WORK/tandem
if ! command -v keepalived >/dev/null; then
  log "installing keepalived (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq keepalived) >"$WORK/apt.log" 2>&1 ||
    { cat "$WORK/apt.log" >&2; echo "cannot install keepalived" >&2; exit 1; }
fi
log "$(keepalived --version 2>&1 | head -1)"

# --- topology ----------------------------------------------------------------
for ns in "$NSA" "$NSB" "$NSC"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$NSC" link add br0 type bridge
ip -n "$NSC" addr add 10.99.0.1/24 dev br0
ip -n "$NSC" link set br0 up
for n in lbA lbB; do
  port=v${n: -1}
  ip -n "$NSC" link add "$port" type veth peer name eth0 netns "${NS[$n]}"
  ip -n "$NSC" link set "$port" master br0 up
  ip -n "${NS[$n]}" link set eth0 address "${MAC[$n]}"
  ip -n "${NS[$n]}" addr add "${IPOF[$n]}/24" dev eth0
  ip -n "${NS[$n]}" link set eth0 up
done
ip netns exec "$NSC" sh -c 'echo 1 > /proc/sys/net/ipv4/conf/br0/arp_accept'

# --- helpers -------------------------------------------------------------------
holds() { ip -n "${NS[$1]}" -o addr show dev eth0 | grep -q " $VIP/"; }
holders() { local h=""; for n in lbA lbB; do holds $n && h="$h$n "; done; echo "${h% }"; }
other() { [ "$1" = lbA ] && echo lbB || echo lbA; }
neigh() { ip -n "$NSC" neigh show "$VIP" dev br0 | awk '{for (i=1;i<NF;i++) if ($i=="lladdr") print $(i+1)}'; }
get() { ip netns exec "$NSC" "$WORK/probe" --once --timeout 1s --url "http://$VIP/" 2>/dev/null; }
now() { date +%s.%N; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
before() { awk -v a="$(now)" -v b="$1" 'BEGIN { exit !(a < b) }'; } # now < $1
# wait_until SECONDS CMD...: poll CMD every 50 ms; 1 on timeout.
wait_until() {
  local end; end=$(plus "$(now)" "$1"); shift
  until "$@"; do
    before "$end" || return 1
    sleep 0.05
  done
}
# one_holder NAME: NAME alone holds the VIP, the client's entry names it,
# and the client is served.
one_holder() { [ "$(holders)" = "$1" ] && [ "$(neigh)" = "${MAC[$1]}" ] && [ -n "$(get)" ]; }
# dump_vips: each tandem agent's view of the VIP, for a failure report.
dump_vips() {
  local n
  for n in lbA lbB; do
    [ -n "${PID[$n]:-}" ] || continue
    log "$n's view: $(ip netns exec "${NS[$n]}" "$T" vip status 2>&1 | head -20)"
  done
}
# serves NAME: NAME has the VIP, the client's entry names it and NAME's
# site answers.
serves() { holds "$1" && [ "$(neigh)" = "${MAC[$1]}" ] && [ "$(get)" = "site-$1" ]; }
stable_serves() {
  local end; end=$(plus "$(now)" 1)
  while before "$end"; do serves "$1" || wait_until 10 serves "$1" || return 1; sleep 0.05; done
}
# stable_holder NAME: one_holder NAME holds at every sample for 1 s.
stable_holder() {
  local end; end=$(plus "$(now)" 1)
  while before "$end"; do one_holder "$1" || return 1; sleep 0.05; done
}
# wait_holder NAME [SECONDS]: wait until NAME alone holds the VIP, stably.
wait_holder() {
  local end; end=$(plus "$(now)" "${2:-30}")
  until wait_until "${2:-30}" one_holder "$1" && stable_holder "$1"; do
    before "$end" || { log "FAIL: $1 never became the only holder (holders: $(holders))"; dump_vips; exit 1; }
  done
}
# dual_until NAME SECONDS: sample the holders every ~30 ms until NAME alone
# holds the VIP; DUAL is the number of samples in which both held it.
dual_until() {
  local end; end=$(plus "$(now)" "$2"); DUAL=0
  until one_holder "$1"; do
    [ "$(holders)" = "lbA lbB" ] && DUAL=$((DUAL + 1))
    before "$end" || return 1
    sleep 0.02
  done
}
probe_start() {
  ip netns exec "$NSC" "$WORK/probe" --url "http://$VIP/" --interval 10ms --timeout 300ms \
    --duration "${1:-120s}" --gap-threshold 100ms --kv >"$WORK/probe.out" 2>>"$WORK/probe.err" &
  PID[probe]=$!
  sleep 0.5 # a steady period before the event (measurement window)
}
# probe_stop: stop the probe; its key=value line is left in R. (Not to be
# called in a subshell: only this shell can wait for the probe.)
probe_stop() {
  sleep 0.5 # a steady period after convergence (measurement window)
  kill -INT "${PID[probe]}"; wait "${PID[probe]}" || true; unset 'PID[probe]'
  if [ ! -s "$WORK/probe.out" ]; then log "probe printed nothing; stderr: $(tail -3 "$WORK/probe.err")"; fi
  R=$(cat "$WORK/probe.out")
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# stats "v1 v2 ...": median and max (values in ms) as "median max".
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f %.0f\n", m, v[NR]}'; }

port_of() { echo "v${1: -1}"; } # NAME: its bridge-side port in the client namespace
link_down() { ip -n "$NSC" link set "$(port_of "$1")" down; }
link_up() { ip -n "$NSC" link set "$(port_of "$1")" up; }
# short_events KIND COUNT STOP CONT: COUNT times, STOP, hold (300 ms for a
# freeze, 100 ms for a flap), CONT, then 2 s to see any takeover.
short_events() {
  local i hold=0.3
  [ "$1" = flap ] && hold=0.1
  for i in $(seq "$2"); do
    $3; sleep "$hold"; $4
    sleep 2
  done
}

start_site() { # NAME LISTEN: a test site in NAME's namespace
  ip netns exec "${NS[$1]}" "$T" testsite --name "site-$1" --listen "$2" --root "$WORK/site-$1" \
    >>"$WORK/site-$1-$2.log" 2>&1 &
  PID[site-$1-$2]=$!
}

# --- tandem ------------------------------------------------------------------
KEY=$("$T" keygen)
cat >"$WORK/cluster.yaml" <<EOF
defaults:
  mode: http
  timeouts: {connect: 1s, client: 10s, server: 10s}
  redispatch: true
frontends:
  - {name: http-in, bind: ["*:80"], default_backend: web}
backends:
  - name: web
    balance: roundrobin
    health_check: {method: HEAD, path: /deploy.txt, version: HTTP/1.0}
    servers:
      - {name: local, address: "127.0.0.1:8001", check: true, inter: 500ms, rise: 2, fall: 2}
vips:
  - {name: vip1, address: "$VIP/24", frontends: [http-in]}
EOF
start_agent() {
  local n=$1 extra=()
  if [ "$n" = lbA ]; then extra=(--cluster-config "$WORK/cluster.yaml"); else extra=(--join 10.99.0.2:7946); fi
  ip netns exec "${NS[$n]}" "$T" agent --node "$n" --data-dir "$WORK/data-$n" --bind "${IPOF[$n]}" \
    --advertise "${IPOF[$n]}" --cluster-key "$KEY" --vip-interface eth0 --vip-priority "vip1=${PRIO[$n]}" \
    --drain-timeout 2s "${extra[@]}" >>"$WORK/agent-$n.log" 2>&1 &
  PID[$n]=$!
}
vip_json() { ip netns exec "${NS[$1]}" "$T" vip status --json 2>/dev/null; }
alive() { vip_json "$1" | grep -c '"alive": true' || true; }
both_alive() { [ "$(alive lbA)" = 2 ] && [ "$(alive lbB)" = 2 ]; }
# acquired NAME: how often the agent took the VIP (from its log: the API
# keeps only the last 50 transitions).
acquired() { grep -c "acquired vip" "$WORK/agent-$1.log" || true; }
faults() { grep -c "vip state changed.*to=fault" "$WORK/agent-$1.log" || true; }

for n in lbA lbB; do start_site $n 127.0.0.1:8001; done
N_T=$N
has kill || N_T=0
has handover || HANDOVERS=0
has freeze || FREEZES=0
start_agent lbA
start_agent lbB
log "tandem: waiting for the cluster"
wait_until 60 both_alive || { log "FAIL: agents never saw each other"; exit 1; }
wait_holder lbA 30

TK_GAPS="" TK_LONG="" TK_FAILS="" PRE_FAILS="" PRE_DUAL=""
for i in $(seq "$N_T"); do
  wait_until 30 both_alive || { log "FAIL: lbA did not rejoin"; exit 1; }
  wait_holder lbA 30
  probe_start
  log "tandem kill $i: SIGKILL lbA"
  kill -9 "${PID[lbA]}"; wait "${PID[lbA]}" 2>/dev/null || true
  log "tandem kill $i: lbA reaped"
  wait_holder lbB 10
  probe_stop; r=$R
  TK_GAPS="$TK_GAPS $(field switch_gap_ms "$r")" TK_LONG="$TK_LONG $(field longest_gap_ms "$r")" TK_FAILS="$TK_FAILS $(field failures "$r")"
  log "tandem kill $i: $r"
  # Restart: lbA rejoins and preempts back by a planned handover. Both
  # holding at once for longer than a handover's overlap is a fight.
  probe_start
  start_agent lbA
  dual_until lbA 40 || true
  wait_holder lbA 30
  probe_stop; r=$R
  PRE_FAILS="$PRE_FAILS $(field failures "$r")" PRE_DUAL="$PRE_DUAL $DUAL"
  log "tandem restart+preempt $i: samples with two holders $DUAL; $r"
done

HD_GAPS="" HD_LONG="" HD_FAILS=""
has hostdeath || HOSTDEATHS=0
for i in $(seq "$HOSTDEATHS"); do
  wait_until 30 both_alive || { log "FAIL: lbA did not rejoin"; exit 1; }
  wait_holder lbA 30
  probe_start
  link_down lbA
  wait_until 10 serves lbB || { log "FAIL: lbB never served after lbA's host died (holders: $(holders))"; dump_vips; exit 1; }
  stable_serves lbB
  probe_stop; r=$R
  HD_GAPS="$HD_GAPS $(field switch_gap_ms "$r")" HD_LONG="$HD_LONG $(field longest_gap_ms "$r")" HD_FAILS="$HD_FAILS $(field failures "$r")"
  log "tandem host death $i: $r"
  link_up lbA
done

HO_FAILS="" HO_GAPS="" HO_ERRS=""
for i in $(seq "$HANDOVERS"); do
  wait_until 30 both_alive
  wait_holder lbA 30
  probe_start
  kill -TERM "${PID[lbA]}"; wait "${PID[lbA]}" 2>/dev/null || true
  wait_holder lbB 10
  probe_stop; r=$R
  HO_FAILS="$HO_FAILS $(field failures "$r")" HO_GAPS="$HO_GAPS $(field longest_gap_ms "$r")"
  [ "$(field failures "$r")" = 0 ] || HO_ERRS="$HO_ERRS $(field errors "$r")"
  log "tandem SIGTERM handover $i: $r"
  start_agent lbA
  wait_until 40 both_alive || { log "FAIL: lbA did not rejoin"; exit 1; }
done

FZ_GAPS="" FZ_DUAL=""
for i in $(seq "$FREEZES"); do
  wait_until 30 both_alive
  wait_holder lbA 30
  probe_start
  kill -STOP "${PID[lbA]}"
  wait_until 10 sh -c "[ \"\$(ip netns exec $NSC $WORK/probe --once --timeout 300ms --url http://$VIP/ 2>/dev/null)\" = site-lbB ]"
  probe_stop; r=$R
  FZ_GAPS="$FZ_GAPS $(field longest_gap_ms "$r")"
  log "tandem freeze $i: $r"
  sleep 1 # stay frozen a while (the frozen kernel still has the address)
  kill -CONT "${PID[lbA]}"
  # Sample the holders for 6 s after the thaw: time both held the VIP.
  dual=0 end=$(plus "$(now)" 6)
  while before "$end"; do
    [ "$(holders)" = "lbA lbB" ] && dual=$((dual + 1))
    sleep 0.02
  done
  FZ_DUAL="$FZ_DUAL $dual"
  log "tandem thaw $i: samples (every ~30 ms) with two holders: $dual"
done

tandem_freeze() { kill -STOP "${PID[lbA]}"; }
tandem_thaw() { kill -CONT "${PID[lbA]}"; }
tandem_down() { link_down lbA; }
tandem_up() { link_up lbA; }
declare -A SH_TR=() SH_SW=() SH_R=()
if has short; then
  for kind in freeze flap; do
    wait_until 30 both_alive
    wait_holder lbA 30
    acq0=$(( $(acquired lbA) + $(acquired lbB) ))
    probe_start "$((SHORT * 3 + 30))s"
    if [ $kind = freeze ]; then short_events freeze "$SHORT" tandem_freeze tandem_thaw
    else short_events flap "$SHORT" tandem_down tandem_up; fi
    probe_stop; r=$R
    SH_TR[$kind]=$(( $(acquired lbA) + $(acquired lbB) - acq0 )) SH_SW[$kind]=$(field switches "$r") SH_R[$kind]=$r
    log "tandem short ${kind}s x$SHORT: VIP takeovers ${SH_TR[$kind]}; client: $r"
  done
fi

soak() { # SECONDS: 2 busy loops in each LB namespace
  for n in lbA lbB; do for j in 1 2; do
    ip netns exec "${NS[$n]}" timeout "$1" sh -c 'while :; do :; done' &
    PID[busy-$n-$j]=$!
  done; done
  for n in lbA lbB; do for j in 1 2; do wait "${PID[busy-$n-$j]}" || true; unset "PID[busy-$n-$j]"; done; done
}
if has soak; then
wait_until 30 both_alive
wait_holder lbA 30
acq0=$(( $(acquired lbA) + $(acquired lbB) )) flt0=$(( $(faults lbA) + $(faults lbB) ))
log "tandem: CPU soak ${SOAK}s"
probe_start "$((SOAK + 30))s"
soak "$SOAK"
probe_stop; r=$R
SOAK_TR=$(( $(acquired lbA) + $(acquired lbB) - acq0 )) SOAK_FLT=$(( $(faults lbA) + $(faults lbB) - flt0 )) SOAK_R=$r
log "tandem soak: VIP takeovers $SOAK_TR, stall fences $SOAK_FLT; client: $r"
fi

for n in lbA lbB; do kill -TERM "${PID[$n]}" 2>/dev/null; wait "${PID[$n]}" 2>/dev/null || true; unset "PID[$n]"; done

# --- keepalived ----------------------------------------------------------------
ka_conf() { # NAME ADVERT
  local n=$1 o; o=$(other "$1")
  cat >"$WORK/ka-$n.conf" <<EOF
global_defs {
  router_id $n
  vrrp_version 3
  vrrp_garp_master_repeat 5
  vrrp_garp_master_refresh 0
  script_user root
  enable_script_security
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 99
  priority ${PRIO[$n]}
  advert_int $2
  unicast_src_ip ${IPOF[$n]}
  unicast_peer {
    ${IPOF[$o]}
  }
  virtual_ipaddress {
    $VIP/24 dev eth0
  }
}
EOF
}
start_ka() { # NAME: keepalived and the node's web server on *:80
  rm -f "$WORK/ka-$1.pid" "$WORK/ka-$1-vrrp.pid"
  ip netns exec "${NS[$1]}" keepalived -n -l -G -P -f "$WORK/ka-$1.conf" -p "$WORK/ka-$1.pid" \
    -r "$WORK/ka-$1-vrrp.pid" >>"$WORK/keepalived-$1.log" 2>&1 &
  PID[ka-$1]=$!
  start_site "$1" 0.0.0.0:80
}
ka_pids() { # NAME: keepalived processes (parent and VRRP child) in NAME's namespace
  local p
  for p in $(ip netns pids "${NS[$1]}"); do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = keepalived ] && echo "$p"
  done
  return 0
}
no_ka() { [ -z "$(ka_pids "$1")" ]; }
kill_ka() { # NAME: the node dies: keepalived (parent and VRRP child) and its web server
  local p
  # Stop them all first, so that no VRRP child sees its parent die and
  # resigns gracefully (a priority-0 advert would make it a handover);
  # repeat: a parent killed while forking leaves a child behind.
  for _ in 1 2 3 4 5; do
    for p in $(ka_pids "$1"); do kill -STOP "$p" 2>/dev/null; done
    for p in $(ka_pids "$1"); do kill -9 "$p" 2>/dev/null; done
    no_ka "$1" && break
    sleep 0.05
  done
  kill -9 "${PID[site-$1-0.0.0.0:80]}" 2>/dev/null || true
  wait "${PID[ka-$1]}" "${PID[site-$1-0.0.0.0:80]}" 2>/dev/null || true
  unset "PID[ka-$1]" "PID[site-$1-0.0.0.0:80]"
}
masters() { grep -c "Entering MASTER STATE" "$WORK/keepalived-$1.log" 2>/dev/null || true; }
ka_freeze() { local p; for p in $(ka_pids lbA); do kill -STOP "$p"; done; }
ka_thaw() { local p; for p in $(ka_pids lbA); do kill -CONT "$p"; done; }
declare -A KA_GAPS=() KA_FAILS=() KA_SOAK=() KA_HD=() KA_HDF=() KA_SH_TR=() KA_SH_SW=()
KA_ADVERTS="1 0.1"
has keepalived || KA_ADVERTS=""
for adv in $KA_ADVERTS; do
  for n in lbA lbB; do ka_conf $n "$adv"; start_ka $n; done
  log "keepalived advert_int $adv: waiting for lbA to be master"
  wait_holder lbA 30
  gaps="" fails=""
  for i in $(seq "$N"); do
    wait_holder lbA 30
    probe_start
    kill_ka lbA
    # keepalived leaves a SIGKILLed master's address behind (its VRRP child
    # may get to remove it, or not): wait for lbB to hold and serve, not for
    # lbB alone.
    wait_until 20 serves lbB || { log "FAIL: lbB never served (holders: $(holders))"; exit 1; }
    stable_serves lbB
    probe_stop; r=$R
    gaps="$gaps $(field switch_gap_ms "$r")" fails="$fails $(field failures "$r")"
    log "keepalived $adv kill $i: $r"
    # keepalived leaves a SIGKILLed master's address behind: clear it
    # before the restart (outside the measurement).
    ip -n "$NSA" addr del "$VIP/24" dev eth0 2>/dev/null || true
    start_ka lbA
  done
  KA_GAPS[$adv]=$gaps KA_FAILS[$adv]=$fails
  gaps="" fails=""
  for i in $(seq "$HOSTDEATHS"); do
    wait_holder lbA 30
    probe_start
    link_down lbA
    wait_until 20 serves lbB || { log "FAIL: lbB never served (holders: $(holders))"; exit 1; }
    stable_serves lbB
    probe_stop; r=$R
    gaps="$gaps $(field switch_gap_ms "$r")" fails="$fails $(field failures "$r")"
    log "keepalived $adv host death $i: $r"
    link_up lbA
  done
  KA_HD[$adv]=$gaps KA_HDF[$adv]=$fails
  if has short; then
    for kind in freeze flap; do
      wait_holder lbA 30
      m0=$(masters lbB)
      probe_start "$((SHORT * 3 + 30))s"
      if [ $kind = freeze ]; then short_events freeze "$SHORT" ka_freeze ka_thaw
      else short_events flap "$SHORT" tandem_down tandem_up; fi
      probe_stop; r=$R
      KA_SH_TR[$adv-$kind]=$(( $(masters lbB) - m0 )) KA_SH_SW[$adv-$kind]=$(field switches "$r")
      log "keepalived $adv short ${kind}s x$SHORT: lbB became master ${KA_SH_TR[$adv-$kind]} times; client: $r"
    done
  fi
  if [ "$adv" = 0.1 ] && [ "$KEEPALIVED_SOAK" = 1 ] && has soak; then
    wait_holder lbA 30
    log "keepalived advert_int 0.1: CPU soak ${SOAK}s"
    probe_start "$((SOAK + 30))s"
    soak "$SOAK"
    probe_stop; r=$R
    KA_SOAK[$adv]=$r
    log "keepalived 0.1 soak: client: $r"
  fi
  for n in lbA lbB; do kill_ka $n; ip -n "${NS[$n]}" addr del "$VIP/24" dev eth0 2>/dev/null || true; done
done

# --- report ----------------------------------------------------------------------
sum() { tr ' ' '\n' <<<"$1" | awk '{s+=$1} END {print s+0}'; }
maxof() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fail=0
check() { # OK(1|0) TEXT...
  local ok=$1; shift
  if [ "$ok" = 1 ]; then echo "  PASS  $*"; else echo "  FAIL  $*"; fail=1; fi
}

echo
echo "=== failover benchmark ($(nproc) CPUs, $(uname -r); client probe every 10 ms, new connection each, 300 ms timeout) ==="
echo "gap = the failover gap: from the old holder's last good answer to the new one's first (probe switch_gap_ms)"
echo "load average at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs on the machine starve the agents)"
# row LABEL "GAPS" "FAILS": one line of a gap table.
row() {
  local med max
  read -r med max < <(stats "$2")
  printf '%-40s %5s ms %5s ms  %s\n' "$1" "$med" "$max" "$3"
}
if has kill || has keepalived; then
  printf '%-40s %8s %8s  %s\n' "agent killed (SIGKILL), host alive (x$N)" "median" "max" "failed probes per kill"
  if has kill; then
    read -r tk_med tk_max < <(stats "$TK_GAPS")
    row "tandem (crash signal)" "$TK_GAPS" "$TK_FAILS"
    read -r tl_med tl_max < <(stats "$TK_LONG")
    echo "  (tandem: longest gap of each probe window, kill included: median $tl_med ms, max $tl_max ms)"
  fi
  if has keepalived; then
    read -r k1_med k1_max < <(stats "${KA_GAPS[1]}")
    read -r k01_med k01_max < <(stats "${KA_GAPS[0.1]}")
    row "keepalived VRRPv3 advert_int 1" "${KA_GAPS[1]}" "${KA_FAILS[1]}"
    row "keepalived VRRPv3 advert_int 0.1" "${KA_GAPS[0.1]}" "${KA_FAILS[0.1]}"
  fi
  if has kill && has keepalived; then
    echo "ratio of medians: keepalived(1)/tandem = $(ratio "$k1_med" "$tk_med"), keepalived(0.1)/tandem = $(ratio "$k01_med" "$tk_med")"
  fi
fi
if [ "$HOSTDEATHS" -gt 0 ] 2>/dev/null; then
  printf '%-40s %8s %8s  %s\n' "host death (bridge port down) (x$HOSTDEATHS)" "median" "max" "failed probes per death"
  if has hostdeath; then
    read -r hd_med hd_max < <(stats "$HD_GAPS")
    row "tandem (gossip probes)" "$HD_GAPS" "$HD_FAILS"
    read -r hl_med hl_max < <(stats "$HD_LONG")
    echo "  (tandem: longest gap of each probe window: median $hl_med ms, max $hl_max ms)"
  fi
  if has keepalived; then
    row "keepalived VRRPv3 advert_int 1" "${KA_HD[1]}" "${KA_HDF[1]}"
    row "keepalived VRRPv3 advert_int 0.1" "${KA_HD[0.1]}" "${KA_HDF[0.1]}"
  fi
fi
if has short; then
  echo "short events of the holder (x$SHORT each): takeovers / client switches"
  printf '  %-38s freezes 300 ms: %s / %s   flaps 100 ms: %s / %s\n' "tandem" \
    "${SH_TR[freeze]}" "${SH_SW[freeze]}" "${SH_TR[flap]}" "${SH_SW[flap]}"
  for adv in $KA_ADVERTS; do
    printf '  %-38s freezes 300 ms: %s / %s   flaps 100 ms: %s / %s\n' "keepalived advert_int $adv" \
      "${KA_SH_TR[$adv-freeze]}" "${KA_SH_SW[$adv-freeze]}" "${KA_SH_TR[$adv-flap]}" "${KA_SH_SW[$adv-flap]}"
  done
fi
echo
echo "tandem targets:"
if has kill; then
  check "$(le "$tk_med" 60)" "agent killed x$N: median gap $tk_med ms (<= 60)"
  check "$(le "$tk_max" 150)" "agent killed x$N: max gap $tk_max ms (<= 150)"
  check "$(le "$(sum "$PRE_FAILS")" 0)" "restart + preempt back x$N: failed requests $(sum "$PRE_FAILS") (0)"
  check "$(le "$(maxof "$PRE_DUAL")" 10)" "restart + preempt back x$N: samples (~30 ms apart) with two holders:$PRE_DUAL (max <= 10)"
fi
if has hostdeath; then
  check "$(le "$hd_med" 450)" "host death x$HOSTDEATHS: median gap $hd_med ms (<= 450)"
fi
if has short; then
  check "$( [ "${SH_TR[freeze]}" = 0 ] && [ "${SH_SW[freeze]}" = 0 ] && echo 1 || echo 0)" \
    "freezes of 300 ms x$SHORT: VIP takeovers ${SH_TR[freeze]}, client switches ${SH_SW[freeze]} (0)"
  check "$( [ "${SH_TR[flap]}" = 0 ] && [ "${SH_SW[flap]}" = 0 ] && echo 1 || echo 0)" \
    "link flaps of 100 ms x$SHORT: VIP takeovers ${SH_TR[flap]}, client switches ${SH_SW[flap]} (0)"
fi
if has handover; then
  check "$(le "$(sum "$HO_FAILS")" 0)" "planned handover (SIGTERM) x$HANDOVERS: failed new connections $(sum "$HO_FAILS") (0); errors:$HO_ERRS"
fi
if has freeze; then
  read -r fz_med fz_max < <(stats "$FZ_GAPS")
  check "$(le "$fz_max" 1000)" "frozen holder x$FREEZES: the other serves after median $fz_med ms, max $fz_max ms (<= 1000)"
  check "$(le "$(maxof "$FZ_DUAL")" 10)" "after thaw: samples (~30 ms apart) with two holders:$FZ_DUAL (max <= 10)"
fi
if has soak; then
  check "$( [ "$SOAK_TR" = 0 ] && [ "$(field switches "$SOAK_R")" = 0 ] && echo 1 || echo 0)" \
    "CPU soak ${SOAK}s, 4 busy loops on $(nproc) CPUs: VIP takeovers $SOAK_TR, client switches $(field switches "$SOAK_R") (0);" \
    "client failures $(field failures "$SOAK_R"), gaps > 100 ms $(field gaps "$SOAK_R"), longest $(field longest_gap_ms "$SOAK_R") ms;" \
    "backup stall fences $SOAK_FLT"
fi
if [ -n "${KA_SOAK[0.1]:-}" ]; then
  echo "keepalived advert_int 0.1, same soak: client switches $(field switches "${KA_SOAK[0.1]}"), failures" \
    "$(field failures "${KA_SOAK[0.1]}"), gaps > 100 ms $(field gaps "${KA_SOAK[0.1]}"), longest $(field longest_gap_ms "${KA_SOAK[0.1]}") ms"
fi
if has bgp || [ "$PHASES" = "kill handover freeze soak keepalived" ]; then bash "$ROOT/bench/failover/bgp.sh" || fail=1; fi
exit $fail
