// Package services proves tandem's protocol health checks and PROXY
// protocol against the real servers they are written for, from Debian's
// packages: Redis (a primary and a replica found by the role:master
// tcp-check), PostgreSQL (pgsql-check), MariaDB (mysql-check), nginx
// (proxy_protocol listeners, $proxy_protocol_addr) and HAProxy (send-proxy-v2
// in front of tandem's accept-proxy), plus an agent-check agent written here.
//
// Each test installs what it needs with apt-get when it runs as root and
// the program is missing; as a normal user it is skipped with the command
// to run, and under CI=true it fails instead. Every server listens on
// loopback ports of its own, keeps its data in the test's temporary
// directory and is stopped when the test ends; tandem runs as a real agent
// in the test process (agent.New, Run), with its admin API on loopback.
package services
