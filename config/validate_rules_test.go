package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const rulesYAML = `
frontends:
  - name: web
    bind: ["127.0.0.1:8080"]
    acls:
      is_api: path_beg /api
      is_static: [path_end .css .js, "hdr(host) -i static.example.com"]
    http_request:
      - redirect scheme https code 301 if !{ ssl_fc }
      - set-header X-Forwarded-Proto https if { ssl_fc }
      - deny if is_ap
      - set-var(txn.x) path,map(missing.map)
    http_response:
      - set-path /x
    use_backend:
      - {backend: api, if: is_api}
      - {backend: x}
      - {backend: "%[req.hdr(host),lower,map(hosts.map,web)]"}
      - {backend: tcpb, if: is_static}
    default_backend: web
  - name: sni
    mode: tcp
    bind: ["127.0.0.1:8443"]
    tcp_request:
      - inspect-delay 5s
      - content accept if { req.ssl_hello_type 1 }
    use_backend:
      - {backend: tcpb, if: "{ req.ssl_sni -i a.example.com }"}
    http_request: [deny]
    default_backend: tcpb
backends:
  - name: web
    servers: [{name: s1, address: 127.0.0.1:1}]
    use_server:
      - {server: s2, if: "{ path /x }"}
    http_request:
      - auth realm Admin unless { http_auth(admins) }
      - deny unless { http_auth(nobody) }
  - name: api
    servers: [{name: a1, address: 127.0.0.1:2}]
  - name: tcpb
    mode: tcp
    servers: [{name: t1, address: 127.0.0.1:3}]
files:
  hosts.map: |
    example.com web
    api.example.com api
userlists:
  - name: admins
    users:
      - {name: alice, password: "$6$salt$hash", groups: [ops]}
      - {name: bob, password: "$1$md5$hash"}
      - {name: carol, insecure_password: secret}
    groups: [{name: ops}]
`

func TestValidateRulesNamesPathsAndLines(t *testing.T) {
	_, err := Load("cluster.yaml", []byte(rulesYAML))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load: %v, want Errors", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{
		`cluster.yaml:11: frontends[web].http_request[2]: unknown ACL "is_ap" (column 9)`,
		`cluster.yaml:12: frontends[web].http_request[3]: file "missing.map" is not in the config's files (column 25)`,
		`cluster.yaml:14: frontends[web].http_response[0]: action "set-path" cannot be used in http-response rules (column 1)`,
		`cluster.yaml:17: frontends[web].use_backend[1].backend: backend "x" does not exist`,
		`cluster.yaml:19: frontends[web].use_backend[3].backend: frontend mode http cannot use backend "tcpb" in mode tcp`,
		`cluster.yaml:29: frontends[sni].http_request: http-request rules need mode http (HAProxy ignores them in mode tcp)`,
		`cluster.yaml:38: backends[web].http_request[1]: userlist "nobody" does not exist (column 25)`,
		`cluster.yaml:35: backends[web].use_server[0].server: server "s2" does not exist in backend "web"`,
		`cluster.yaml:52: userlists[admins].users[bob].password: unsupported hash: use SHA-512 ($6$), SHA-256 ($5$) or bcrypt ($2a$, $2b$, $2y$) as mkpasswd or htpasswd -B write them`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestValidRulesLoad(t *testing.T) {
	y := strings.NewReplacer(
		"      - deny if is_ap\n", "",
		"      - set-var(txn.x) path,map(missing.map)\n", "",
		"    http_response:\n      - set-path /x\n", "",
		"      - {backend: x}\n", "",
		"      - {backend: tcpb, if: is_static}\n", "",
		"    http_request: [deny]\n", "",
		"    use_server:\n      - {server: s2, if: \"{ path /x }\"}\n", "",
		"      - deny unless { http_auth(nobody) }\n", "",
		"$1$md5$hash", "$5$salt$hash",
	).Replace(rulesYAML)
	c, err := Load("cluster.yaml", []byte(y))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sec, ok := c.RuleSection("web", false)
	if !ok || len(sec.HTTPRequest) != 2 || len(sec.UseBackend) != 2 || !sec.HTTP {
		t.Fatalf("RuleSection: %+v", sec)
	}
}
