// Package compose holds tandem's docker compose cluster (docker-compose.yml:
// lb1 and lb2 LB nodes, a witness, the article's two sites web1 and web2,
// and a load client) and its end-to-end failover suite, behind the build
// tag e2e: go test -tags e2e ./testenv/compose/ (make e2e).
//
// The suite drives docker and compose from the host and sends traffic only
// between containers of its own compose project: the client container
// requests the VIP (or an LB node's own address) with `tandem load`. It
// needs a local Docker engine (it lists each LB container's eth0
// addresses by netlink in the container's network namespace, to see which
// node holds the VIP; an address parked on lo does not count) and the image
// built by make compose-image. Without Docker it skips, except under
// CI=true where a missing engine is a failure.
//
// The package has no non-test code; it must not be imported.
package compose
