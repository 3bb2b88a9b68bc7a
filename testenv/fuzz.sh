#!/usr/bin/env bash
# testenv/fuzz.sh FUZZTIME PKG:FUZZFUNC... — `make fuzz`: each target for
# FUZZTIME. A target fails when go test finds an input that breaks it (it
# writes the input under testdata/fuzz/ and says so). Go 1.26's fuzzing
# coordinator can also end a clean run with a bare "context deadline
# exceeded" when -fuzztime expires under CPU contention (golang/go#75804,
# fixed in Go 1.27): with no failing input written that is reported and
# not counted as a failure.
set -uo pipefail
GO=${GO:-go}
fuzztime=$1
shift
failed=0
for t in "$@"; do
	pkg=${t%%:*} fn=${t##*:}
	echo "== $fn ($pkg)"
	out=$("$GO" test -run '^$' -fuzz "^$fn\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if ((rc != 0)); then
		if ! grep -q 'Failing input written to' <<<"$out" && grep -q '^    context deadline exceeded$' <<<"$out" &&
			[[ $(grep -c -- '--- FAIL' <<<"$out") == 1 ]]; then
			echo "fuzz: $fn: the run ended with Go's fuzztime race (golang/go#75804), no failing input: not a failure"
			continue
		fi
		failed=1
	fi
done
exit $failed
