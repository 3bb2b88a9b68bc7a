package haproxy

import (
	"time"

	"github.com/tandem-lb/tandem/config"
)

// stats reads "stats SUBKEYWORD ...". A section that only serves HAProxy's
// stats page is dropped with a warning naming tandem's dashboard; stats in
// a section that also routes traffic are refused (stats.go, settle).
func (p *parser) stats(px *proxy, l line) {
	if len(l.args) == 0 {
		p.errorf(px, l.num, "'stats' wants a keyword, e.g. 'stats uri /stats'")
		return
	}
	sub := l.args[0]
	w, ok := statsKeywords[sub]
	switch {
	case sub == "socket" || sub == "timeout" || sub == "maxconn" || sub == "bind-process":
		p.errorf(px, l.num, "'stats %s' belongs in the global section", sub)
		return
	case !ok:
		p.refusef(px, l.num, "unknown 'stats %s': HAProxy 2.6 has no such keyword", sub)
		return
	case px.kind == kindDefaults && w&inDefaults == 0:
		p.errorf(px, l.num, "'stats %s' is not allowed in a defaults section (HAProxy refuses it too)", sub)
		return
	}
	px.st.stats = append(px.st.stats, l.num)
	if sub == "uri" && len(l.args) == 2 {
		px.st.statsURI, px.st.statsURILine = l.args[1], l.num
	}
}

// statsWhere is where tandem's own stats are, for the warnings.
const statsWhere = "tandem's dashboard is at http://NODE:8404/ and its Prometheus metrics at http://NODE:8404/metrics, on the admin API (api_addr in the node settings; loopback by default)"

// stickRules are a section's stick-table and stick lines.
type stickRules struct {
	table      *stickTable
	on, match  int // lines of "stick on src" and "stick match src"
	storeReq   int // line of "stick store-request src"
	firstStick int // the first stick line, for errors
}

type stickTable struct {
	line   int
	typ    string
	expire config.Duration
}

// stick reads "stick on|match|store-request|store-response PATTERN [table T] [if|unless COND]".
// tandem's persistence is a table of client addresses: "stick on src", or
// "stick match src" with "stick store-request src", on a table of type ip.
func (p *parser) stick(px *proxy, l line) {
	if len(l.args) < 2 {
		p.errorf(px, l.num, "'stick' wants on, match, store-request or store-response and a pattern, e.g. 'stick on src'")
		return
	}
	s := &px.st.stick
	s.firstStick = pick(s.firstStick, l.num)
	plain := len(l.args) == 2 || len(l.args) == 4 && l.args[2] == "table" && l.args[3] == px.name
	switch {
	case !plain || l.args[1] != "src":
		p.refusef(px, l.num, "'%s': %s", l.String(), whyStick)
	case l.args[0] == "on":
		s.on = l.num
	case l.args[0] == "match":
		s.match = l.num
	case l.args[0] == "store-request":
		s.storeReq = l.num
	default:
		p.refusef(px, l.num, "'%s': %s", l.String(), whyStick)
	}
}

// stickTable reads "stick-table type T size N [expire D] [nopurge] [peers P] [store ...]".
func (p *parser) stickTable(px *proxy, l line) {
	t := &stickTable{line: l.num}
	args := l.args
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "type", "size", "expire", "peers", "store", "len", "srvkey":
			if i+1 >= len(args) {
				p.errorf(px, l.num, "'stick-table %s' wants a value", a)
				return
			}
			i++
			p.stickTableArg(px, l, t, a, args[i])
		case "nopurge":
			p.warnf(px, l.num, "'stick-table nopurge' ignored: tandem forgets the oldest clients when its table is full")
		default:
			p.errorf(px, l.num, "unknown stick-table argument '%s'", a)
		}
	}
	if t.typ == "" {
		p.errorf(px, l.num, "'stick-table' wants a type, e.g. 'stick-table type ip size 200k expire 30m'")
		return
	}
	px.st.stick.table = t
}

func (p *parser) stickTableArg(px *proxy, l line, t *stickTable, a, v string) {
	switch a {
	case "type":
		t.typ = v
	case "expire":
		if d, ok := p.durationArg(px, l.num, "stick-table expire", v); ok {
			t.expire = config.Duration(d)
		}
	case "peers":
		p.warnf(px, l.num, "'stick-table peers %s' ignored: HAProxy copies the table to its peers; tandem keeps it on each node, so after a VIP moves a client may reach another server once", v)
	case "store":
		p.warnf(px, l.num, "'stick-table store %s' ignored: the counters only feed track-sc rules, which rule validation checks", v)
	}
}

// settleStick turns a backend's stick lines into stick_source.
func (p *parser) settleStick(px *proxy, b *config.Backend) {
	s := px.st.stick
	on := s.on > 0 || s.match > 0 && s.storeReq > 0
	if s.firstStick == 0 {
		return
	}
	if s.match > 0 != (s.storeReq > 0) && s.on == 0 {
		p.refusef(px, s.firstStick, "'stick match src' and 'stick store-request src' work together in tandem (as 'stick on src'); one without the other is refused")
		return
	}
	switch {
	case !on:
	case s.table == nil:
		p.errorf(px, s.firstStick, "'stick' in %s: the section has no stick-table (HAProxy refuses this too)", px)
	case s.table.typ != "ip" && s.table.typ != "ipv6":
		p.refusef(px, s.table.line, "'stick-table type %s' with 'stick on src': tandem's persistence table holds client addresses (type ip)", s.table.typ)
	default:
		b.StickSource = true
		b.StickExpire = s.table.expire
		if s.table.expire == 0 {
			b.StickExpire = config.Duration(24 * 24 * time.Hour)
			p.warnf(px, s.table.line, "stick-table without 'expire': HAProxy keeps a client until the table is full; tandem keeps it 24 days after its last request")
		}
	}
}
