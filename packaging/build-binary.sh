#!/usr/bin/env bash
# build-binary.sh OUT [GOARCH [GOARM]]: builds the static tandem binary at
# OUT (run from the repository root). Every build of the product binary goes
# through here: make build, make deb, make image, bench/.
#
# For this host's own architecture it links OpenSSL's libcrypto and glibc
# statically (cgo, build tag "openssl"): frontends then sign RSA handshakes
# with OpenSSL, about 4x faster than Go's crypto/rsa (balancer/tlskey). It
# needs gcc and libssl-dev, which are installed with apt-get when missing
# and this runs as root. Cross builds, TANDEM_OPENSSL=0, or a machine where
# those cannot be installed get a pure Go binary (CGO_ENABLED=0), said on
# stderr. Both are static: no program interpreter, no shared library.
#
#   GO        go command (default: go)
#   LDFLAGS   extra -ldflags (default: none; make deb passes -s -w -buildid=)
#   BUILDVCS  go build -buildvcs (default: auto; make deb passes false)
#   TANDEM_OPENSSL=0  build the pure Go binary
#
# build-binary.sh --tags prints the build tags the product binary gets here
# ("openssl", or nothing), installing what it needs as above: make test
# vets and tests with them.
set -euo pipefail
GO=${GO:-go}
out=${1:?usage: packaging/build-binary.sh OUT [GOARCH [GOARM]] | --tags}
goarch=${2:-$($GO env GOHOSTARCH)}
goarm=${3:-}
ldflags=${LDFLAGS:-}
buildvcs=${BUILDVCS:-auto}

# openssl_ready: gcc and the static libcrypto are here, or were installed.
openssl_ready() {
	[[ ${TANDEM_OPENSSL:-1} == 1 && $goarch == "$($GO env GOHOSTARCH)" ]] || return 1
	local libdir
	libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo none)
	if command -v gcc >/dev/null && [[ -e $libdir/libcrypto.a && -e /usr/include/openssl/evp.h ]]; then
		return 0
	fi
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		echo "build-binary.sh: gcc or libssl-dev missing (apt-get install gcc libssl-dev): building without OpenSSL; RSA handshakes sign with Go's crypto/rsa" >&2
		return 1
	fi
	echo "build-binary.sh: installing gcc and libssl-dev" >&2
	if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq gcc libc6-dev libssl-dev >&2; }; then
		echo "build-binary.sh: apt-get could not install gcc and libssl-dev: building without OpenSSL" >&2
		return 1
	fi
}

if [[ $out == --tags ]]; then
	if openssl_ready; then echo openssl; fi
	exit 0
fi
if openssl_ready; then
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	status=0
	CGO_ENABLED=1 GOOS=linux GOARCH=$goarch $GO build -trimpath -buildvcs="$buildvcs" -tags openssl,netgo,osusergo \
		-ldflags="$ldflags -linkmode=external -extldflags=-static" -o "$out" ./cmd/tandem 2>"$log" || status=$?
	# glibc's notes that getaddrinfo and dlopen in a static binary need its
	# shared libraries at run time: libcrypto's DSO and socket helpers,
	# which tandem never calls (names resolve in Go: netgo).
	grep -v -e "statically linked applications requires at runtime" -e "in function \`" -e '^# ' "$log" >&2 || true
	exit "$status"
fi
CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm $GO build -trimpath -buildvcs="$buildvcs" \
	-ldflags="$ldflags" -o "$out" ./cmd/tandem
