#!/usr/bin/env bash
# bench/tls.sh — TLS of tandem against HAProxy on this machine (part of
# `make bench`, run by bench/run.sh; runs alone too).
#
# One test site (tandem testsite, 127.0.0.1:18011). HAProxy and tandem serve
# the same haproxy.cfg (bench/tls.cfg: an ECDSA P-256 and an RSA 2048
# certificate made here with openssl, one frontend each, TLS 1.3 only), on
# ports 18443/18444 (HAProxy) and 18445/18446 (tandem). Interleaved rounds
# (per scenario, HAProxy then tandem in odd rounds, tandem first in even):
#   full-ecdsa   full TLS 1.3 handshakes/s, ECDSA P-256 certificate
#   full-rsa     full TLS 1.3 handshakes/s, RSA 2048 certificate
#   resume       resumed TLS 1.3 handshakes/s (session tickets), ECDSA
#   https-ka     HTTPS keep-alive req/s (wrk -t1 -c50 over TLS 1.3), ECDSA
# Handshakes come from bench/tlshandshakes (Go, X25519 key exchange as
# OpenSSL's default; connect, handshake, close). For each: the rate, the
# load balancer's CPU µs per handshake or request, and tandem/HAProxy
# ratios of both the rate and the rate per load-balancer CPU second (the
# capacity measure where the clients, not the load balancer, are the
# bottleneck: "LB busy" under 100%).
# Targets (issue 12): handshakes >= 0.8x HAProxy, HTTPS keep-alive >= 1.0x.
#
# CPU: both load balancers get one CPU: HAProxy nbthread 1, tandem
# GOMAXPROCS=1, and both are pinned (taskset) to the same CPU, LB_CPU; the
# clients and the test site run on the other CPUs. With one CPU the
# pinning is skipped (the clients then compete with the load balancer).
#
# Everything listens on and sends to 127.0.0.1 only; every process started
# here is stopped on exit.
#
# Environment:
#   ROUNDS=3          rounds of each scenario (medians are over these)
#   TLS_DURATION=5    seconds of each run
#   HS_CONNS=16       concurrent handshake workers
#   LB_CPU=0          the CPU both load balancers are pinned to
#   LBS="haproxy tandem"  which load balancers to run
#   TLS_SCENARIOS="full-ecdsa full-rsa resume https-ka"  which scenarios
#   BENCH_KEEP=1      keep the work dir (outputs, logs) and print where
#   PORT_OFFSET=0     add this to every port
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
TLS_DURATION=${TLS_DURATION:-5}
HS_CONNS=${HS_CONNS:-16}
LB_CPU=${LB_CPU:-0}
LBS=${LBS:-haproxy tandem}
CLK_TCK=$(getconf CLK_TCK)
PORT_OFFSET=${PORT_OFFSET:-0}
port() { echo $(($1 + PORT_OFFSET)); }

SITE_PORT=$(port 18011)
declare -A ECDSA_PORT=([haproxy]=$(port 18443) [tandem]=$(port 18445))
declare -A RSA_PORT=([haproxy]=$(port 18444) [tandem]=$(port 18446))
declare -A LB_PID=()
PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() { log "bench/tls: $*"; exit 1; }

WORK=$(mktemp -d /tmp/tandem-tlsbench.XXXXXX)
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${BENCH_KEEP:-} == 1 ]]; then
		log "bench/tls: work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {
	local name=$1
	shift
	"$@" >>"$WORK/$name.log" 2>&1 &
	STARTED=$!
	PIDS+=("$STARTED")
}

# ---------------------------------------------------------------- setup

install_tools() {
	command -v haproxy >/dev/null && command -v wrk >/dev/null && command -v openssl >/dev/null && return
	log "bench/tls: installing haproxy, wrk and openssl"
	local sudo=
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy wrk openssl >/dev/null
}

# CPU pinning: the load balancers on LB_CPU, everything else elsewhere.
LB_PIN=()
CLIENT_PIN=()
pinning() {
	local n
	n=$(nproc)
	if ((n < 2)) || ! command -v taskset >/dev/null; then
		log "bench/tls: note: $n CPU(s) or no taskset: nothing pinned, clients share the load balancer's CPU"
		return
	fi
	((LB_CPU < n)) || die "LB_CPU=$LB_CPU but this machine has $n CPUs"
	local others=() i
	for ((i = 0; i < n; i++)); do
		((i == LB_CPU)) || others+=("$i")
	done
	LB_PIN=(taskset -c "$LB_CPU")
	CLIENT_PIN=(taskset -c "$(
		IFS=,
		echo "${others[*]}"
	)")
}

make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=bench.example -addext subjectAltName=DNS:bench.example \
		-keyout "$WORK/ecdsa.key" -out "$WORK/ecdsa.crt" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj /CN=bench.example -addext subjectAltName=DNS:bench.example \
		-keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
	cat "$WORK/ecdsa.crt" "$WORK/ecdsa.key" >"$WORK/ecdsa.pem"
	cat "$WORK/rsa.crt" "$WORK/rsa.key" >"$WORK/rsa.pem"
}

# render LB: bench/tls.cfg with LB's ports and the certificates' directory.
render() {
	local lb=$1
	sed -e "s|@WORK@|$WORK|g" -e "s/@ECDSA@/${ECDSA_PORT[$lb]}/" -e "s/@RSA@/${RSA_PORT[$lb]}/" \
		-e "s/@SITE@/$SITE_PORT/" bench/tls.cfg >"$WORK/tls-$lb.cfg"
}

# wait_https PORT: until GET / over TLS answers 200, for at most 30 s.
wait_https() {
	local deadline=$((SECONDS + 30))
	until [[ $(curl -sk -o /dev/null -m 1 -w '%{http_code}' "https://127.0.0.1:$1/" 2>/dev/null) == 200 ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.3
	done
}

start_lb() {
	local lb=$1
	render "$lb"
	case $lb in
	haproxy) start haproxy "${LB_PIN[@]}" haproxy -db -f "$WORK/tls-$lb.cfg" ;;
	tandem) start tandem env GOMAXPROCS=1 "${LB_PIN[@]}" bin/tandem agent --dev --cluster-config "$WORK/tls-$lb.cfg" \
		--api-addr "127.0.0.1:$(port 18405)" --data-dir "$WORK/tandem-data" ;;
	esac
	LB_PID[$lb]=$STARTED
	if ! wait_https "${ECDSA_PORT[$lb]}" || ! wait_https "${RSA_PORT[$lb]}"; then
		tail -20 "$WORK/$lb.log" >&2 || true
		die "$lb does not serve https on ${ECDSA_PORT[$lb]} and ${RSA_PORT[$lb]} after 30 s"
	fi
}

setup() {
	install_tools
	pinning
	log "bench/tls: building bin/tandem and bench/tlshandshakes"
	packaging/build-binary.sh bin/tandem
	go build -o "$WORK/tlshandshakes" ./bench/tlshandshakes
	make_certs
	mkdir -p "$WORK/site"
	: >"$WORK/site/deploy.txt"
	start site "${CLIENT_PIN[@]}" bin/tandem testsite --name server1 --listen "127.0.0.1:$SITE_PORT" --root "$WORK/site"
	local deadline=$((SECONDS + 10))
	until curl -s -o /dev/null -m 1 "http://127.0.0.1:$SITE_PORT/deploy.txt"; do
		((SECONDS < deadline)) || die "the test site did not start: $(tail -5 "$WORK/site.log")"
		sleep 0.1
	done
	local lb
	for lb in $LBS; do
		start_lb "$lb"
	done
}

# ---------------------------------------------------------------- measuring

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# The load balancer's process: taskset and env exec it, so the pid is its.
# run LB SCENARIO ROUND: appends "scenario lb round count rate cpu_us errors"
# to $WORK/results.
run() {
	local lb=$1 sc=$2 round=$3 out="$WORK/$2-$1-$3.txt" pid=${LB_PID[$1]}
	local t0 t1 count rate errors
	t0=$(cpu_ticks "$pid")
	case $sc in
	full-ecdsa | full-rsa | resume)
		local p=${ECDSA_PORT[$lb]} mode=full
		[[ $sc == full-rsa ]] && p=${RSA_PORT[$lb]}
		[[ $sc == resume ]] && mode=resume
		"${CLIENT_PIN[@]}" "$WORK/tlshandshakes" -addr "127.0.0.1:$p" -mode "$mode" -c "$HS_CONNS" -d "${TLS_DURATION}s" >"$out" 2>&1 ||
			die "tlshandshakes against $lb ($sc) failed: $(cat "$out")"
		t1=$(cpu_ticks "$pid")
		count=$(sed -n 's/.*handshakes=\([0-9]*\).*/\1/p' "$out")
		rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' "$out")
		errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$out")
		if [[ $sc == resume ]]; then
			local resumed
			resumed=$(sed -n 's/.* resumed=\([0-9]*\).*/\1/p' "$out")
			((resumed * 100 >= count * 99)) || die "$lb resumed only $resumed of $count handshakes: $(cat "$out")"
		fi
		;;
	https-ka)
		"${CLIENT_PIN[@]}" wrk -t1 -c50 -d"${TLS_DURATION}s" "https://127.0.0.1:${ECDSA_PORT[$lb]}/" >"$out" 2>&1
		t1=$(cpu_ticks "$pid")
		count=$(awk '/requests in/ {print $1}' "$out")
		rate=$(awk '/^Requests\/sec:/ {print $2}' "$out")
		errors=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
		;;
	esac
	((${count:-0} > 0)) || die "$sc against $lb made nothing: $(cat "$out")"
	local cpu
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$count" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
	echo "$sc $lb $round $count $rate $cpu $errors" >>"$WORK/results"
	log "  $sc $lb round $round: $rate/s, $cpu CPU µs each, errors $errors"
}

median() {
	awk -v sc="$1" -v lb="$2" -v col="$3" '$1 == sc && $2 == lb {print $col}' "$WORK/results" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

# per_cpu CPU_US: operations per second of the load balancer's CPU.
per_cpu() { awk -v c="$1" 'BEGIN { if (c == "-" || c == 0) print "-"; else printf "%.0f", 1e6 / c }'; }

# busy RATE CPU_US: how much of its one CPU the load balancer used (under
# 100%: the clients, not the load balancer, set the rate; compare the
# rates per LB CPU second then).
busy() { awk -v r="$1" -v c="$2" 'BEGIN { if (r == "-" || c == "-") print "-"; else printf "%.0f%%", r * c / 1e4 }'; }

read -ra SCENARIOS <<<"${TLS_SCENARIOS:-full-ecdsa full-rsa resume https-ka}"
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

declare -A TITLE=(
	[full-ecdsa]="full TLS 1.3 handshakes/s, ECDSA P-256 ($HS_CONNS workers; target >= 0.8x)"
	[full-rsa]="full TLS 1.3 handshakes/s, RSA 2048 ($HS_CONNS workers; target >= 0.8x)"
	[resume]="resumed TLS 1.3 handshakes/s, session tickets, ECDSA ($HS_CONNS workers; target >= 0.8x)"
	[https-ka]="HTTPS keep-alive req/s, wrk -t1 -c50, ECDSA (target >= 1.0x)"
)

report() {
	local sc=$1 lb
	printf '\n%s\n' "${TITLE[$sc]}"
	printf '  %-16s %10s %12s %14s %8s %8s\n' "" "per s" "CPU µs each" "per LB CPU·s" "LB busy" "errors"
	for lb in $LBS; do
		printf '  %-16s %10s %12s %14s %8s %8s\n' "$lb" "$(median "$sc" "$lb" 5)" "$(median "$sc" "$lb" 6)" \
			"$(per_cpu "$(median "$sc" "$lb" 6)")" "$(busy "$(median "$sc" "$lb" 5)" "$(median "$sc" "$lb" 6)")" \
			"$(median "$sc" "$lb" 7)"
	done
	if [[ $LBS == *haproxy* && $LBS == *tandem* ]]; then
		printf '  %-16s %10s %12s %14s\n' "tandem/haproxy" \
			"$(ratio "$(median "$sc" tandem 5)" "$(median "$sc" haproxy 5)")" \
			"$(ratio "$(median "$sc" tandem 6)" "$(median "$sc" haproxy 6)")" \
			"$(ratio "$(median "$sc" haproxy 6)" "$(median "$sc" tandem 6)")"
	fi
}

main() {
	setup
	echo
	echo "== TLS: tandem vs HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') on $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
	if ((${#LB_PIN[@]})); then
		echo "   both load balancers on CPU $LB_CPU (HAProxy nbthread 1, tandem GOMAXPROCS=1), clients and site on ${CLIENT_PIN[2]}"
	fi
	local round sc lb
	for round in $(seq 1 "$ROUNDS"); do
		log "bench/tls: round $round of $ROUNDS (${TLS_DURATION}s per run)"
		for sc in "${SCENARIOS[@]}"; do
			for lb in $(round_order "$round"); do
				run "$lb" "$sc" "$round"
				sleep 1 # let closed connections leave TIME_WAIT pressure behind
			done
		done
	done
	echo
	echo "== TLS: medians over $ROUNDS rounds of ${TLS_DURATION}s; CPU is the load balancer's (user+system)"
	for sc in "${SCENARIOS[@]}"; do
		report "$sc"
	done
}

main "$@"
