#!/usr/bin/env bash
# bench/run.sh — tandem against HAProxy on this machine (`make bench`).
#
# Two test sites (tandem testsite) on 127.0.0.1:18001/18002; HAProxy with the
# article's config (bench/haproxy.cfg, ports 18080 http / 18090 tcp) and tandem
# with the same config (bench/tandem.cfg, ports 18081 / 18091), both also
# serving issue 11's rules scenario (1,000 hosts through a map and 50 ACL and
# header rules, ports 18082 / 18083, on the same sites). Then:
#   1. interleaved rounds of wrk (per scenario, HAProxy then tandem in odd
#      rounds, tandem then HAProxy in even ones):
#      keep-alive 50 and 200 connections, a new connection per request
#      (Connection: close, 50 connections), TCP mode with 1 MiB answers
#      (10 connections), the rules scenario (keep-alive, 50 connections);
#      req/s, p50, p99, CPU µs per request; medians over the rounds and
#      tandem/HAProxy ratios, and for the rules tandem's against its own
#      keep-alive figure without rules (the same connections and sites);
#      each ratio also "paired": the median of the per-round ratios;
#   2. server death: wrk 50 connections, server1 SIGKILLed after 3 s; the
#      errors clients saw;
#   3. memory: RSS per idle keep-alive client connection (10,000 of them);
#   4. TLS (bench/tls.sh): full and resumed handshakes/s, HTTPS keep-alive.
#
# Everything listens on and sends to 127.0.0.1 only; every process started
# here is stopped on exit.
#
# Environment:
#   ROUNDS=5          rounds of each scenario (medians are over these)
#   DURATION=10       seconds of each wrk run
#   DEATH_DURATION=10 seconds of the server-death run (server1 dies at 3 s)
#   IDLE_CONNS=10000  idle connections of the memory test (0: skip it)
#   LBS="haproxy tandem"  which load balancers to run ("haproxy" alone
#                     checks the harness without tandem)
#   BENCH_KEEP=1      keep the work dir (wrk outputs, logs) and print where
#   PORT_OFFSET=0     add this to every port (sites, frontends, admin API), for
#                     a machine where another run holds the usual ones
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
DEATH_DURATION=${DEATH_DURATION:-10}
IDLE_CONNS=${IDLE_CONNS:-10000}
LBS=${LBS:-haproxy tandem}
CLK_TCK=$(getconf CLK_TCK)
PORT_OFFSET=${PORT_OFFSET:-0}
port() { echo $(($1 + PORT_OFFSET)); }

declare -A HTTP_PORT=([haproxy]=$(port 18080) [tandem]=$(port 18081))
declare -A RULES_PORT=([haproxy]=$(port 18082) [tandem]=$(port 18083))
# What wrk sends in the rules scenario: a host of the map, and a field one
# of the rules deletes.
RULES_HOST=host123.example.com
declare -A TCP_PORT=([haproxy]=$(port 18090) [tandem]=$(port 18091))
declare -A LB_PID=()
SITE_PORT=($(port 18001) $(port 18002))
declare -A SITE_PID=()
PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup

WORK=$(mktemp -d /tmp/tandem-bench.XXXXXX)
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${BENCH_KEEP:-} == 1 ]]; then
		log "bench: work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD... runs CMD in the background, appending to $WORK/NAME.log,
# and sets STARTED to its pid.
start() {
	local name=$1
	shift
	"$@" >>"$WORK/$name.log" 2>&1 &
	STARTED=$!
	PIDS+=("$STARTED")
}

# stop PID: SIGTERM, then wait for it.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- setup

install_tools() {
	command -v haproxy >/dev/null && command -v wrk >/dev/null && return
	log "bench: installing haproxy and wrk"
	local sudo=
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy wrk >/dev/null
}

raise_fd_limit() {
	# 10,000 idle connections need about as many descriptors in the client
	# and in each load balancer (HAProxy reserves two per maxconn).
	if ! ulimit -n 65536 2>/dev/null; then
		ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
		log "bench: note: open-file limit is $(ulimit -n) here (65536 not allowed); the memory test runs HAProxy with 'no strict-limits'"
	fi
}

# wait_serving PORT [HOST]: until GET / on PORT has answered from both
# server1 and server2 (so both are up on that load balancer), for at most
# 30 s.
wait_serving() {
	local port=$1 host=${2:-127.0.0.1} seen deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		seen=$(for _ in 1 2 3 4 5 6; do
			curl -s -o /dev/null -m 1 -H "Host: $host" -w '%header{x-served-by}\n' "http://127.0.0.1:$port/" 2>/dev/null || true
		done | sort -u | tr '\n' ' ')
		[[ $seen == *server1* && $seen == *server2* ]] && return 0
		sleep 0.3
	done
	return 1
}

start_site() {
	local i=$1 name="server$1"
	start "$name" bin/tandem testsite --name "$name" --listen "127.0.0.1:${SITE_PORT[i - 1]}" --root "$WORK/site$i"
	SITE_PID[$name]=$STARTED
	local deadline=$((SECONDS + 10))
	until curl -s -o /dev/null -m 1 "http://127.0.0.1:${SITE_PORT[i - 1]}/deploy.txt"; do
		((SECONDS < deadline)) || die "$name did not start: $(tail -5 "$WORK/$name.log")"
		sleep 0.1
	done
}

# start_lb LB CONFIG
start_lb() {
	local lb=$1 cfg=$2
	case $lb in
	haproxy) start haproxy haproxy -db -f "$cfg" ;;
	tandem) start tandem bin/tandem agent --dev --cluster-config "$cfg" --api-addr "127.0.0.1:$(port 18404)" ;;
	esac
	LB_PID[$lb]=$STARTED
	if ! wait_serving "${HTTP_PORT[$lb]}" || ! wait_serving "${RULES_PORT[$lb]}" "$RULES_HOST"; then
		log "bench: $lb is not serving both sites on 127.0.0.1:${HTTP_PORT[$lb]} and ${RULES_PORT[$lb]} after 30 s; its log ends:"
		tail -20 "$WORK/$lb.log" >&2 || true
		die "$lb did not start"
	fi
}

# render_config LB: bench/LB.cfg with @BENCH@ made this directory's
# absolute path (HAProxy reads a map's relative path from its working
# directory, tandem from the cfg's) and the ports moved by PORT_OFFSET,
# written to $WORK/LB.cfg.
render_config() {
	local p args=(-e "s|@BENCH@|$PWD/bench|g")
	for p in 18001 18002 18080 18081 18082 18083 18090 18091; do
		args+=(-e "s/127\.0\.0\.1:$p\b/127.0.0.1:$(port $p)/g")
	done
	sed "${args[@]}" "bench/$1.cfg" >"$WORK/$1.cfg"
}

# check that tandem.cfg is haproxy.cfg with the other ports, so the two
# load balancers are compared on the same configuration.
check_configs() {
	diff <(grep -v '^#' bench/haproxy.cfg | sed 's/:18080/:18081/; s/:18090/:18091/; s/:18082/:18083/') \
		<(grep -v '^#' bench/tandem.cfg) >/dev/null ||
		die "bench/tandem.cfg must be bench/haproxy.cfg with ports 18081/18091/18083 (diff them)"
}

setup() {
	install_tools
	raise_fd_limit
	check_configs
	log "bench: building bin/tandem"
	packaging/build-binary.sh bin/tandem
	go build -o "$WORK/idleconns" ./bench/idleconns
	local i
	for i in 1 2; do
		mkdir -p "$WORK/site$i"
		: >"$WORK/site$i/deploy.txt"
		head -c 1048576 /dev/urandom >"$WORK/site$i/big.bin"
		start_site "$i"
	done
	local lb
	for lb in $LBS; do
		render_config "$lb"
		start_lb "$lb" "$WORK/$lb.cfg"
	done
}

# ---------------------------------------------------------------- measuring

# cpu_ticks PID: utime+stime of the process (all threads), in clock ticks.
cpu_ticks() {
	# Fields after the ")" that ends the command name: state is 1st, so
	# utime (14th of the line) is 12th and stime 13th.
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# rss_kb PID: resident set size in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# parse_wrk FILE prints: requests req/s p50_us p99_us non2xx socket_errors MiB/s
parse_wrk() {
	awk '
	function us(v,   n) {
		n = v + 0
		if (v ~ /us$/) return n
		if (v ~ /ms$/) return n * 1000
		if (v ~ /m$/) return n * 60e6
		if (v ~ /s$/) return n * 1e6
		return n
	}
	function mib(v,   n) {
		n = v + 0
		if (v ~ /KB$/) return n / 1024
		if (v ~ /MB$/) return n
		if (v ~ /GB$/) return n * 1024
		if (v ~ /TB$/) return n * 1024 * 1024
		return n / 1048576
	}
	/requests in/ { req = $1 }
	/^ *50%/ { p50 = us($2) }
	/^ *99%/ { p99 = us($2) }
	/Non-2xx or 3xx responses:/ { non2xx = $NF }
	/Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
	/^Requests\/sec:/ { rps = $2 }
	/^Transfer\/sec:/ { tput = mib($2) }
	END { printf "%d %.1f %.0f %.0f %d %d %.1f\n", req, rps, p50, p99, non2xx, sock, tput }
	' "$1"
}

# run_wrk LB SCENARIO ROUND: one wrk run; appends a line to $WORK/results:
# scenario lb round requests req/s p50_us p99_us cpu_us_per_req MiB/s errors
run_wrk() {
	local lb=$1 sc=$2 round=$3 url args
	case $sc in
	ka50) args=(-t2 -c50) url="http://127.0.0.1:${HTTP_PORT[$lb]}/" ;;
	ka200) args=(-t2 -c200) url="http://127.0.0.1:${HTTP_PORT[$lb]}/" ;;
	close50) args=(-t2 -c50 -H 'Connection: close') url="http://127.0.0.1:${HTTP_PORT[$lb]}/" ;;
	tcp1m) args=(-t2 -c10) url="http://127.0.0.1:${TCP_PORT[$lb]}/big.bin" ;;
	rules50) args=(-t2 -c50 -H "Host: $RULES_HOST" -H 'X-Internal-4: 1') url="http://127.0.0.1:${RULES_PORT[$lb]}/" ;;
	esac
	local out="$WORK/wrk-$sc-$lb-$round.txt" pid=${LB_PID[$lb]}
	local t0 t1
	t0=$(cpu_ticks "$pid")
	wrk "${args[@]}" -d"${DURATION}s" --latency "$url" >"$out" 2>&1
	t1=$(cpu_ticks "$pid")
	local req rps p50 p99 non2xx sock tput
	read -r req rps p50 p99 non2xx sock tput < <(parse_wrk "$out")
	((req > 0)) || die "wrk against $lb ($sc) made no request: $(cat "$out")"
	local cpu
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$req" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
	echo "$sc $lb $round $req $rps $p50 $p99 $cpu $tput $((non2xx + sock))" >>"$WORK/results"
	log "  $sc $lb round $round: $rps req/s, p99 ${p99}µs, $cpu CPU µs/req, errors $((non2xx + sock))"
}

# median SCENARIO LB COLUMN (1-based column of the results line)
median() {
	awk -v sc="$1" -v lb="$2" -v col="$3" '$1 == sc && $2 == lb {print $col}' "$WORK/results" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

# paired SC_A LB_A SC_B LB_B COLUMN: the median over rounds of A's figure
# divided by B's in the same round (run next to each other, so a machine
# whose speed drifts from round to round moves both).
paired() {
	awk -v sa="$1" -v la="$2" -v sb="$3" -v lb="$4" -v col="$5" '
	$1 == sa && $2 == la { a[$3] = $col }
	$1 == sb && $2 == lb { b[$3] = $col }
	END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' "$WORK/results" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "-"; exit }
			printf "%.2fx", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2fms", v / 1000 }'; }

report_scenario() {
	local sc=$1 title=$2 lb
	printf '\n%s\n' "$title"
	printf '  %-16s %10s %10s %10s %12s %10s %8s\n' "" "req/s" "p50" "p99" "CPU µs/req" "MiB/s" "errors"
	for lb in $LBS; do
		printf '  %-16s %10s %10s %10s %12s %10s %8s\n' "$lb" \
			"$(median "$sc" "$lb" 5)" "$(fmt_ms "$(median "$sc" "$lb" 6)")" \
			"$(fmt_ms "$(median "$sc" "$lb" 7)")" "$(median "$sc" "$lb" 8)" \
			"$(median "$sc" "$lb" 9)" "$(median "$sc" "$lb" 10)"
	done
	if [[ $LBS == *haproxy* && $LBS == *tandem* ]]; then
		printf '  %-16s %10s %10s %10s %12s %10s\n' "tandem/haproxy" \
			"$(ratio "$(median "$sc" tandem 5)" "$(median "$sc" haproxy 5)")" "" \
			"$(ratio "$(median "$sc" tandem 7)" "$(median "$sc" haproxy 7)")" \
			"$(ratio "$(median "$sc" tandem 8)" "$(median "$sc" haproxy 8)")" \
			"$(ratio "$(median "$sc" tandem 9)" "$(median "$sc" haproxy 9)")"
		printf '  %-16s %10s %10s %10s %12s %10s\n' "  paired" \
			"$(paired "$sc" tandem "$sc" haproxy 5)" "" \
			"$(paired "$sc" tandem "$sc" haproxy 7)" \
			"$(paired "$sc" tandem "$sc" haproxy 8)" \
			"$(paired "$sc" tandem "$sc" haproxy 9)"
	fi
	if [[ $sc == rules50 && $LBS == *tandem* ]]; then
		# Issue 11's targets: >= 0.97x tandem without rules, >= 1.0x HAProxy.
		printf '  %-16s %10s %10s %10s %12s\n' "tandem/no-rules" \
			"$(ratio "$(median rules50 tandem 5)" "$(median ka50 tandem 5)")" "" \
			"$(ratio "$(median rules50 tandem 7)" "$(median ka50 tandem 7)")" \
			"$(ratio "$(median rules50 tandem 8)" "$(median ka50 tandem 8)")"
		printf '  %-16s %10s %10s %10s %12s\n' "  paired" \
			"$(paired rules50 tandem ka50 tandem 5)" "" \
			"$(paired rules50 tandem ka50 tandem 7)" \
			"$(paired rules50 tandem ka50 tandem 8)"
	fi
}

# rules50 right after ka50: its tandem/no-rules pairs are runs close in time.
SCENARIOS=(ka50 rules50 ka200 close50 tcp1m)
declare -A TITLE=(
	[ka50]="HTTP keep-alive, 50 connections (wrk -t2 -c50, GET /)"
	[ka200]="HTTP keep-alive, 200 connections (wrk -t2 -c200, GET /)"
	[close50]="HTTP new connection per request, 50 connections (Connection: close)"
	[tcp1m]="TCP mode, 1 MiB answers, 10 connections (GET /big.bin through tcp-in)"
	[rules50]="HTTP keep-alive, 50 connections, 1,000 hosts through a map + 50 ACL/header rules (rules-in; no-rules: ka50)"
)

# round_order ROUND: the load balancers in the order they run in ROUND:
# as LBS in odd rounds, reversed in even ones, so that neither always runs
# first (interleaved runs on this VM favoured the first of a pair by up to
# 7%, the same binary in both places).
round_order() {
	if (($1 % 2)); then
		echo $LBS
	else
		echo $LBS | tr ' ' '\n' | tac | tr '\n' ' '
	fi
}

throughput() {
	local round sc lb
	for round in $(seq 1 "$ROUNDS"); do
		log "bench: round $round of $ROUNDS (${DURATION}s per run)"
		for sc in "${SCENARIOS[@]}"; do
			for lb in $(round_order "$round"); do
				run_wrk "$lb" "$sc" "$round"
				sleep 1 # let closed connections leave TIME_WAIT pressure behind
			done
		done
	done
	echo
	echo "== throughput: medians over $ROUNDS rounds of ${DURATION}s; CPU is the load balancer's (user+system) per request =="
	echo "   (\"paired\": the median over rounds of the ratio of the two runs of one round, made close in time)"
	for sc in "${SCENARIOS[@]}"; do
		report_scenario "$sc" "${TITLE[$sc]}"
	done
}

# ---------------------------------------------------------------- server death

server_death() {
	echo
	echo "== server death: wrk -c50 ${DEATH_DURATION}s, server1 SIGKILLed at 3 s (option redispatch, check inter 2000 fall 2) =="
	printf '  %-10s %10s %12s %14s\n' "" "requests" "non-2xx/3xx" "socket errors"
	local lb out req rps p50 p99 non2xx sock tput wrkpid
	for lb in $LBS; do
		wait_serving "${HTTP_PORT[$lb]}" || die "$lb does not serve both sites before the server-death test"
		out="$WORK/wrk-death-$lb.txt"
		wrk -t2 -c50 -d"${DEATH_DURATION}s" --latency "http://127.0.0.1:${HTTP_PORT[$lb]}/" >"$out" 2>&1 &
		wrkpid=$!
		PIDS+=("$wrkpid")
		sleep 3
		kill -KILL "${SITE_PID[server1]}"
		wait "${SITE_PID[server1]}" 2>/dev/null || true
		wait "$wrkpid" || true
		start_site 1
		read -r req rps p50 p99 non2xx sock tput < <(parse_wrk "$out")
		printf '  %-10s %10s %12s %14s\n' "$lb" "$req" "$non2xx" "$sock"
	done
	for lb in $LBS; do
		wait_serving "${HTTP_PORT[$lb]}" || log "bench: $lb did not take server1 back within 30 s"
	done
}

# ---------------------------------------------------------------- memory

# mem_config LB DST: LB's bench config with room for the idle connections:
# global and defaults maxconn 20000. HAProxy refuses to start when it cannot
# raise the open-file limit to 2 × maxconn + a few; where the limit is lower,
# "no strict-limits" makes that a warning: the test needs only about one
# descriptor per idle client connection.
mem_config() {
	local lb=$1 dst=$2 global='maxconn 20000'
	if [[ $lb == haproxy ]] && (($(ulimit -n) < 40100)); then
		global+="\nno strict-limits"
	fi
	sed -e "s/^maxconn 4096\$/$global/" -e 's/^defaults$/defaults\nmaxconn 20000/' "$WORK/$lb.cfg" >"$dst"
}

memory() {
	((IDLE_CONNS > 0)) || return 0
	local lb
	# Global maxconn 4096 would cap the test: restart both with maxconn 20000.
	for lb in $LBS; do
		stop "${LB_PID[$lb]}"
		mem_config "$lb" "$WORK/$lb-mem.cfg"
	done
	for lb in $LBS; do
		start_lb "$lb" "$WORK/$lb-mem.cfg"
	done
	echo
	echo "== memory: $IDLE_CONNS idle keep-alive client connections (one GET / each), global and frontend maxconn 20000 =="
	printf '  %-10s %12s %12s %8s %12s\n' "" "RSS before" "RSS after" "open" "kB/conn"
	local pid before after out line open deadline
	for lb in $LBS; do
		pid=${LB_PID[$lb]}
		before=$(rss_kb "$pid")
		out="$WORK/idle-$lb.txt"
		start "idleconns-$lb" "$WORK/idleconns" -addr "127.0.0.1:${HTTP_PORT[$lb]}" -n "$IDLE_CONNS" -hold 120s
		local ipid=$STARTED
		deadline=$((SECONDS + 90))
		until line=$(grep -m1 '^ready' "$WORK/idleconns-$lb.log"); do
			((SECONDS < deadline)) || die "idleconns against $lb did not finish: $(tail -5 "$WORK/idleconns-$lb.log")"
			kill -0 "$ipid" 2>/dev/null || die "idleconns against $lb failed: $(tail -5 "$WORK/idleconns-$lb.log")"
			sleep 0.2
		done
		sleep 1 # let the load balancer settle (idle server connections, GC)
		after=$(rss_kb "$pid")
		open=${line#*open=}
		open=${open%% *}
		stop "$ipid"
		printf '  %-10s %9s kB %9s kB %8s %12s\n' "$lb" "$before" "$after" "$open" \
			"$(awk -v a="$after" -v b="$before" -v n="$open" 'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "-" }')"
		grep '^idleconns:' "$WORK/idleconns-$lb.log" | head -3 | sed 's/^/    /' || true
	done
}

# ---------------------------------------------------------------- main

main() {
	setup
	echo "tandem vs HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') on $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ); wrk, backends and load balancers share the machine"
	throughput
	server_death
	memory
	bash bench/tls.sh # TLS handshakes and HTTPS keep-alive, its own processes and ports
}

main "$@"
