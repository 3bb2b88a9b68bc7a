#!/bin/sh
# build-deb.sh: builds bin/tandem_VERSION_ARCH.deb with dpkg-deb (what
# `make deb` runs; run from the repository root).
#
#   VERSION   Debian version (default: packaging/version.sh, from git describe)
#   DEB_ARCH  Debian architecture (default: this host's, dpkg --print-architecture)
#   OUT       output directory (default: bin)
#   GO        go command (default: go)
#
# The package holds the static binary, the systemd unit, the example node
# settings (a conffile), bash and zsh completion and man pages generated from
# the cobra commands, copyright (DEP-5, every linked Go module) and a
# changelog. Timestamps come from the last commit (SOURCE_DATE_EPOCH), so the
# same commit builds the same package.
set -eu
GO=${GO:-go}
VERSION=${VERSION:-$(packaging/version.sh)}
DEB_ARCH=${DEB_ARCH:-$(dpkg --print-architecture)}
OUT=${OUT:-bin}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

goarm=""
case "$DEB_ARCH" in
amd64 | arm64 | riscv64 | s390x | mips64le) goarch=$DEB_ARCH ;;
i386) goarch=386 ;;
armhf) goarch=arm goarm=7 ;;
armel) goarch=arm goarm=5 ;;
ppc64el) goarch=ppc64le ;;
*) echo "build-deb.sh: no Go architecture for Debian's $DEB_ARCH" >&2; exit 2 ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
mkdir -p "$root/DEBIAN"

# The binary: static (libcrypto and glibc linked in for this host's
# architecture, pure Go for others), stripped, no build paths or build ID.
GO=$GO LDFLAGS='-s -w -buildid=' BUILDVCS=false packaging/build-binary.sh "$root/usr/bin/tandem" "$goarch" "$goarm"

# Completion and man pages come from a binary for this host (the packaged
# one may be for another architecture).
host=$root/usr/bin/tandem
if [ "$goarch" != "$($GO env GOHOSTARCH)" ]; then
	host=$stage/tandem-host
	CGO_ENABLED=0 $GO build -trimpath -buildvcs=false -o "$host" ./cmd/tandem
fi
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"
"$host" completion bash >"$root/usr/share/bash-completion/completions/tandem"
"$host" completion zsh >"$root/usr/share/zsh/vendor-completions/_tandem"
"$host" man --dir "$root/usr/share/man/man1" --source "tandem $VERSION"
gzip -9n "$root"/usr/share/man/man1/*.1

install -D -m 0644 packaging/tandem.service "$root/lib/systemd/system/tandem.service"
install -D -m 0644 packaging/tandem.yaml "$root/etc/tandem/tandem.yaml"

doc=$root/usr/share/doc/tandem
install -d "$doc"
openssl=0
builtusing=""
if $GO version -m "$root/usr/bin/tandem" | grep -q -- '-tags=.*openssl'; then
	openssl=1
	# Debian policy 7.8: the source packages of what is linked in statically.
	builtusing=$(dpkg-query -W -f '${source:Package} (= ${source:Version}), ' libssl-dev libc6-dev | sed 's/, $//')
fi
GO=$GO OPENSSL=$openssl packaging/copyright.sh >"$doc/copyright"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
{
	printf 'tandem (%s) unstable; urgency=medium\n\n' "$VERSION"
	printf '  * Built from commit %s of %s.\n' "$commit" "$($GO list -m)"
	printf '    The project'"'"'s history: git log, or README.md.\n\n'
	printf ' -- %s  %s\n' "${DEB_MAINTAINER:-tandem developers <tandem@tandem-lb.github.io>}" \
		"$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

install -D -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/tandem"
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"; done
echo /etc/tandem/tandem.yaml >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$DEB_ARCH/" -e "s/@SIZE@/$size/" \
	-e "s/@MAINTAINER@/${DEB_MAINTAINER:-tandem developers <tandem@tandem-lb.github.io>}/" \
	packaging/debian/control >"$root/DEBIAN/control"
if [ -n "$builtusing" ]; then
	sed -i "/^Installed-Size:/a Built-Using: $builtusing" "$root/DEBIAN/control"
fi
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum) >"$root/DEBIAN/md5sums"

# Directories 0755 and files 0644 (0755 for the binary), whatever the umask.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f ! -path "$root/DEBIAN/*" -exec chmod 0644 {} +
chmod 0755 "$root/usr/bin/tandem" "$root"/DEBIAN/postinst "$root"/DEBIAN/prerm "$root"/DEBIAN/postrm
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
deb=$OUT/tandem_${VERSION}_${DEB_ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
