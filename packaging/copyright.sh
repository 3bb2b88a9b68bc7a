#!/bin/sh
# copyright.sh: writes /usr/share/doc/tandem/copyright (Debian's
# machine-readable format, DEP-5) to stdout: tandem itself, the Go standard
# library and every Go module linked into the binary, each with its own
# license file's copyright lines and terms. Apache-2.0 and MPL-2.0 texts are
# referenced in /usr/share/common-licenses (as lintian asks); every other
# license text is copied verbatim.
#
# With OPENSSL=1 (a binary built with the "openssl" tag, which links
# libcrypto and glibc statically) it adds OpenSSL's and glibc's paragraphs.
#
#   usage: packaging/copyright.sh [PACKAGE]   (default ./cmd/tandem; run from the repo root)
set -eu
pkg=${1:-./cmd/tandem}
GO=${GO:-go}
self=$($GO list -m)

# indent: a DEP-5 text block (one leading space, empty lines as " .").
indent() { sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /'; }

# license_name FILE: the short name(s) of the license(s) the file holds.
license_name() {
	names=""
	grep -q 'Apache License' "$1" && grep -q 'Version 2.0' "$1" && names="$names Apache-2.0"
	grep -q 'Mozilla Public License' "$1" && names="$names MPL-2.0"
	grep -q 'Permission is hereby granted, free of charge' "$1" && names="$names Expat"
	grep -qi 'Permission to use, copy, modify, and/or distribute' "$1" && names="$names ISC"
	if grep -q 'Redistribution and use in source and binary forms' "$1"; then
		if grep -qi 'neither the name\|names of its contributors\|name of the copyright holder' "$1"; then
			names="$names BSD-3-clause"
		else
			names="$names BSD-2-clause"
		fi
	fi
	names=$(echo $names | sed 's/ / and /g')
	echo "${names:-other}"
}

# holders FILE MODULE: the license file's copyright lines, or its authors.
holders() {
	h=$(grep -i '^[[:space:]]*copyright[[:space:]]*\((c)\|©\|[0-9]\)' "$1" | grep -v '\[yyyy\]\|{yyyy}\|\[year\]' |
		sed -e 's/^[[:space:]]*[Cc]opyright[[:space:]]*\((c)\|(C)\|©\)\{0,1\}[[:space:]]*//' -e 's/[[:space:]]*$//' | sort -u)
	if [ -z "$h" ]; then h="the $2 authors"; fi
	echo "$h" | sed '2,$s/^/ /'
}

# paragraph NAME VERSION LICENSEFILE: one Files paragraph.
paragraph() {
	name=$(license_name "$3")
	printf '\nFiles: %s/*\nCopyright: %s\n' "$1" "$(holders "$3" "$1")"
	case "$name" in
	Apache-2.0|MPL-2.0)
		printf 'License: %s\n On Debian systems the full text of the %s license is in\n /usr/share/common-licenses/%s.\n' "$name" "$name" "$name"
		;;
	*)
		printf 'License: %s\n' "$name"
		indent <"$3"
		;;
	esac
	printf 'Comment: Go %s %s, statically linked into /usr/bin/tandem.\n' "$1" "$2"
}

cat <<HEAD
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tandem
Upstream-Contact: the tandem developers
Source: https://$self

Files: *
Copyright: the tandem developers
License: tandem-no-license-yet
 The tandem developers have not published a license for tandem itself yet.
 Until they do, all rights to tandem's own code are reserved; the
 components below keep their own licenses.
HEAD

goroot=$($GO env GOROOT)
paragraph "go (standard library)" "$($GO env GOVERSION)" "$goroot/LICENSE" | sed 's|^Files: go (standard library)/\*|Files: go-standard-library/*|'

$GO list -deps -f '{{with .Module}}{{.Path}} {{.Version}} {{.Dir}}{{end}}' "$pkg" | sort -u |
	while read -r path version dir; do
		[ "$path" = "$self" ] && continue
		lic=$(ls "$dir" | grep -i '^\(licen[cs]e\|copying\)' | head -n 1 || true)
		if [ -z "$lic" ]; then
			echo "copyright.sh: no license file in $path $version ($dir)" >&2
			exit 1
		fi
		paragraph "$path" "$version" "$dir/$lic"
	done

if [ "${OPENSSL:-0}" = 1 ]; then
	cat <<'C'

Files: openssl/*
Copyright: The OpenSSL Project Authors
License: Apache-2.0
 On Debian systems the full text of the Apache-2.0 license is in
 /usr/share/common-licenses/Apache-2.0.
Comment: OpenSSL's libcrypto (Debian's libssl-dev), statically linked into
 /usr/bin/tandem, signs RSA handshakes.

Files: glibc/*
Copyright: Free Software Foundation, Inc.
License: LGPL-2.1+
 On Debian systems the full text of the LGPL-2.1 license is in
 /usr/share/common-licenses/LGPL-2.1. The GNU C Library (Debian's
 libc6-dev) is statically linked into /usr/bin/tandem; tandem's source and
 packaging/build-binary.sh rebuild and relink it.
C
fi
