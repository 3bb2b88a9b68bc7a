# tandem — see README.md.
GO       ?= go
BIN      ?= bin/tandem
PKGS     ?= ./...
# Race detector and a bounded test time on the 2-core CI machine.
TESTFLAGS ?= -race -timeout 20m

.PHONY: build run test bench bench-go bench-failover lint fuzz clean deb image

# The Debian version (packaging/version.sh: from git describe) and
# architecture of `make deb`; override either: make deb VERSION=1.0.0
VERSION  ?= $(shell packaging/version.sh)
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
# The OCI image of `make image` (a docker tag has no '~' or '+').
IMAGE    ?= tandem:$(subst +,-,$(subst ~,-,$(VERSION)))

# The static binary, with OpenSSL's libcrypto for RSA signatures where the
# host can build it (packaging/build-binary.sh says when it cannot).
build:
	GO=$(GO) packaging/build-binary.sh $(BIN)

run: build
	$(BIN) agent --dev

# Build tags of the product binary on this host ("openssl" where libcrypto
# can be linked): vet and the tests build what `make build` builds.
GOTAGS = $(shell GO=$(GO) packaging/build-binary.sh --tags)

test:
	$(eval TAGS := $(GOTAGS))
	$(GO) vet -tags '$(TAGS)' $(PKGS)
	$(GO) vet ./balancer/tlskey
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) test -tags '$(TAGS)' $(TESTFLAGS) $(PKGS)

# HAProxy vs tandem (bench/run.sh): HTTP, TCP, rules, server death, memory,
# and TLS (bench/tls.sh: handshakes/s ECDSA and RSA, resumed, HTTPS keep-alive).
bench: build
	bash bench/run.sh
	$(MAKE) --no-print-directory bench-go

# Go benchmarks of the cluster: apply propagation on 3 nodes (p50/p99) and
# the health-report load (3 nodes x 500 flapping servers: Raft entries/s
# and CPU stay bounded); 1,000 servers tcp-checked at inter 1s on one node
# (CPU, memory, check lag p99).
bench-go:
	$(GO) test -run '^$$' -bench 'ApplyPropagation|HealthReportLoad' -benchtime 5s ./cluster
	$(GO) test -run '^$$' -bench 'TCPCheck1000Servers' -benchtime 1x ./health

# Failover gap of tandem vs keepalived in network namespaces (root).
bench-failover:
	bash bench/failover/run.sh

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)

# Short fuzzing of every parser of untrusted input (longer: FUZZTIME=5m).
# One package:Target per fuzz target; add new ones here.
FUZZTIME ?= 30s
FUZZ_TARGETS = \
	./config:FuzzLoad \
	./config/haproxy:FuzzParse \
	./config/haproxy:FuzzCrtList \
	./balancer/http1:FuzzRequestHead \
	./balancer/http1:FuzzResponseHead \
	./balancer/http1:FuzzChunked \
	./balancer:FuzzH2Filter \
	./config/rules:FuzzSplit \
	./config/rules:FuzzRule \
	./config/rules:FuzzLogFormat \
	./config/rules:FuzzCondition \
	./config/rules:FuzzMapFile \
	./config/rules:FuzzPatternFile \
	./balancer/rules:FuzzParseClientHello \
	./balancer/rules:FuzzWordIndex \
	./balancer/rules:FuzzAffixIndex \
	./balancer/rules:FuzzIPIndex \
	./balancer/rules:FuzzRequestRules \
	./balancer/rules:FuzzMemoAgreesWithPlain \
	./balancer/accesslog:FuzzLogFormat \
	./balancer/accesslog:FuzzFrame \
	./balancer/proxyproto:FuzzParse \
	./vip:FuzzParseARPClaim \
	./health:FuzzServerReplies \
	./health:FuzzAgentReply \
	./balancer:FuzzACMEChallengePath \
	./config:FuzzValidDNSName \
	./api/runtimeapi:FuzzRuntimeCommand
fuzz:
	@GO=$(GO) testenv/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

clean:
	rm -rf bin

# bin/tandem_$(VERSION)_$(DEB_ARCH).deb: static binary, systemd unit, example
# node settings, completion, man pages (packaging/build-deb.sh, dpkg-deb).
# Its test (install, run as the tandem user, purge) is packaging/deb_test.go,
# part of `make test`.
deb:
	GO=$(GO) VERSION='$(VERSION)' DEB_ARCH=$(DEB_ARCH) OUT=bin packaging/build-deb.sh

# The OCI image FROM scratch around the static binary: the e2e suite's image
# (testenv/compose/Dockerfile, built by compose-image), tagged $(IMAGE) and
# saved to bin/tandem-image.tar for `docker load -i`.
image: compose-image
	docker tag $(TANDEM_IMAGE) $(IMAGE)
	@mkdir -p bin
	docker save -o bin/tandem-image.tar $(IMAGE)
	chmod 0644 bin/tandem-image.tar
	@echo "bin/tandem-image.tar: docker load -i bin/tandem-image.tar; docker run --rm $(IMAGE) --help"

# The docker compose cluster and the failover suite (compose-up, compose-down, e2e).
include testenv/compose/compose.mk
