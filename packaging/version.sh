#!/bin/sh
# version.sh: the Debian version of this checkout, from `git describe`.
#   on tag v1.2.3                 -> 1.2.3
#   5 commits after v1.2.3        -> 1.2.3+git5.g1a2b3c4
#   no v* tag yet                 -> 0.0~git29.g1a2b3c4   (sorts before 0.0)
#   uncommitted changes           -> ...+dirty
# Debian versions must start with a digit and, for a native package, hold
# no '-'; '~' sorts before anything, '+' after.
set -eu
if d=$(git describe --tags --match 'v[0-9]*' --long --dirty 2>/dev/null); then
	dirty=""
	case "$d" in *-dirty) dirty="+dirty"; d=${d%-dirty} ;; esac
	hash=${d##*-}
	rest=${d%-*}
	count=${rest##*-}
	tag=${rest%-*}
	v=${tag#v}
	v=$(echo "$v" | tr '-' '~') # v1.2.0-rc1 -> 1.2.0~rc1
	if [ "$count" = 0 ]; then echo "$v$dirty"; else echo "$v+git$count.$hash$dirty"; fi
	exit 0
fi
count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
hash=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
dirty=""
if ! git diff --quiet HEAD 2>/dev/null; then dirty="+dirty"; fi
echo "0.0~git$count.g$hash$dirty"
