# The docker compose cluster and its failover suite; included by the
# top-level Makefile (include testenv/compose/compose.mk). See
# testenv/compose/README.md.
#
#   make compose-up     build the image, start lb1 lb2 witness web1 web2 client
#   make compose-down   stop and remove them (and their data volumes)
#   make e2e            build the image, run the failover suite, print the
#                       results table, always tear down

COMPOSE_DIR     := testenv/compose
# docker compose v2 if present, else docker-compose v1; override with
# COMPOSE="docker-compose".
COMPOSE         ?= $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
                     elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; \
                     else echo "docker compose"; fi)
COMPOSE_PROJECT ?= tandem
E2E_PROJECT     ?= tandem-e2e
TANDEM_IMAGE    ?= tandem-compose:dev
E2E_TIMEOUT     ?= 15m
E2E_RUN         ?= .
GO              ?= go

export TANDEM_IMAGE

.PHONY: compose-image compose-up compose-down e2e

compose-image:
	GO=$(GO) LDFLAGS='-s -w' packaging/build-binary.sh $(COMPOSE_DIR)/tandem
	DOCKER_BUILDKIT=0 docker build -q -t $(TANDEM_IMAGE) $(COMPOSE_DIR)

# cluster.env holds the cluster key, made once and kept (gitignored).
$(COMPOSE_DIR)/cluster.env:
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) compose-image
	@printf 'TANDEM_CLUSTER_KEY=%s\n' "$$($(COMPOSE_DIR)/tandem keygen)" > $@.tmp && mv $@.tmp $@

compose-up: compose-image $(COMPOSE_DIR)/cluster.env
	@for s in web1 web2; do mkdir -p $(COMPOSE_DIR)/sites/$$s; \
	  [ -e $(COMPOSE_DIR)/sites/$$s/deploy.txt ] || [ -e $(COMPOSE_DIR)/sites/$$s/deploy1.txt ] || echo ok > $(COMPOSE_DIR)/sites/$$s/deploy.txt; done
	cd $(COMPOSE_DIR) && $(COMPOSE) -p $(COMPOSE_PROJECT) up -d
	@echo "cluster starting: cd $(COMPOSE_DIR) && $(COMPOSE) -p $(COMPOSE_PROJECT) exec lb1 /tandem status"

compose-down:
	cd $(COMPOSE_DIR) && $(COMPOSE) -p $(COMPOSE_PROJECT) down -v --remove-orphans

# The suite tears its own project down (TANDEM_E2E_KEEP=1 keeps it up);
# the trailing down is a safety net for an interrupted run. The results
# table is printed at the end and kept in $(COMPOSE_DIR)/results.txt;
# container logs of failed scenarios go to $(COMPOSE_DIR)/logs/.
e2e:
	@if ! docker version >/dev/null 2>&1; then \
	  if [ "$$CI" = true ]; then echo "e2e: no docker engine: FAIL (CI=true needs docker)"; exit 1; fi; \
	  echo "e2e: no docker engine: skipping the compose failover suite"; exit 0; fi; \
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) compose-image && \
	rm -rf $(COMPOSE_DIR)/logs $(COMPOSE_DIR)/results.txt; \
	{ TANDEM_COMPOSE="$(COMPOSE)" TANDEM_E2E_PROJECT=$(E2E_PROJECT) \
	  $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)' -v ./$(COMPOSE_DIR)/ 2>&1; \
	  echo $$? > $(COMPOSE_DIR)/e2e.rc; } | tee $(COMPOSE_DIR)/e2e.log; \
	rc=$$(cat $(COMPOSE_DIR)/e2e.rc); rm -f $(COMPOSE_DIR)/e2e.rc; \
	[ -f $(COMPOSE_DIR)/results.txt ] || echo "e2e: no results table (see $(COMPOSE_DIR)/e2e.log)"; \
	(cd $(COMPOSE_DIR) && $(COMPOSE) -p $(E2E_PROJECT) down -v --remove-orphans >/dev/null 2>&1); \
	if [ "$$rc" != 0 ]; then echo "e2e FAILED: output in $(COMPOSE_DIR)/e2e.log, container logs in $(COMPOSE_DIR)/logs/"; fi; \
	exit $$rc
