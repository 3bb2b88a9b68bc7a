// Package packaging holds what turns tandem into a Debian package and a
// systemd service, and the tests that prove it installs, runs and goes away
// cleanly. It has no Go code of its own: the files are
//
//	build-deb.sh     `make deb`: bin/tandem_VERSION_ARCH.deb with dpkg-deb
//	version.sh       the Debian version, from git describe
//	copyright.sh     DEP-5 copyright of tandem and every linked Go module
//	tandem.service   the systemd unit (Type=notify, non-root, sandboxed)
//	tandem.yaml      /etc/tandem/tandem.yaml, every node setting commented
//	debian/          control template and maintainer scripts
//	debian/lintian-overrides  the lintian tags reported on purpose, and why
//
// The tests (deb_test.go) build the package once per run; as root they
// install it with dpkg, run the installed agent as the tandem user with the
// unit's capabilities in network namespaces, and purge it, leaving the
// machine as it was. As another user the root-only parts skip; under
// CI=true they fail instead.
//
// Nothing here may be imported by the agent.
package packaging
