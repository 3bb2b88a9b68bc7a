package haproxydiff

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A case file (testdata/rules/*.txt) is one haproxy.cfg template, the files
// it names and its request set; testdata/rules/README.md describes the
// format. This file reads and expands it.

// caseFile is one parsed case file.
type caseFile struct {
	name   string            // the file name without .txt
	config string            // the haproxy.cfg template
	files  map[string]string // written under @DIR@
	blocks []block
}

// block is one request template of the "requests" part.
type block struct {
	line int      // where it starts in the case file
	text []string // its lines, unexpanded
}

// request is one expanded request.
type request struct {
	line int    // the block's line in the case file
	fe   string // the frontend's template name
	kind requestKind
	sni  string // @tls and @hello: the server name sent ("" none)
	alpn []string
	raw  []byte // @http and @tls: the request bytes; @tcp: the payload
	// describe is the request as the failure messages show it.
	describe string
}

type requestKind uint8

const (
	kindHTTP  requestKind = iota // HTTP over TCP
	kindTLS                      // HTTP over TLS terminated by the balancer
	kindTCP                      // raw bytes to a mode tcp frontend
	kindHello                    // a TLS handshake through a mode tcp frontend
)

var partRE = regexp.MustCompile(`(?m)^-- ([A-Za-z0-9_./-]+) --$`)

// readCases reads every case file of dir, in name order.
func readCases(dir string) ([]*caseFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*caseFile
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		c, err := parseCase(strings.TrimSuffix(filepath.Base(n), ".txt"), string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// parseCase splits a case file into its parts: "-- haproxy.cfg --", any
// number of "-- FILE --" and "-- requests --". Text before the first part
// is the file's description.
func parseCase(name, data string) (*caseFile, error) {
	c := &caseFile{name: name, files: map[string]string{}}
	locs := partRE.FindAllStringSubmatchIndex(data, -1)
	if len(locs) == 0 {
		return nil, fmt.Errorf("no '-- haproxy.cfg --' part")
	}
	var requests string
	reqLine := 0
	for i, l := range locs {
		part := data[l[2]:l[3]]
		end := len(data)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := data[l[1]:end]
		body = strings.TrimPrefix(body, "\n")
		switch part {
		case "haproxy.cfg":
			c.config = body
		case "requests":
			requests = body
			reqLine = strings.Count(data[:l[1]], "\n") + 2
		default:
			if _, dup := c.files[part]; dup {
				return nil, fmt.Errorf("file %s given twice", part)
			}
			c.files[part] = body
		}
	}
	if c.config == "" {
		return nil, fmt.Errorf("no '-- haproxy.cfg --' part")
	}
	c.blocks = splitBlocks(requests, reqLine)
	if len(c.blocks) == 0 {
		return nil, fmt.Errorf("no requests")
	}
	return c, nil
}

// splitBlocks cuts the requests part at blank lines; '#' lines are
// comments.
func splitBlocks(text string, first int) []block {
	var out []block
	var cur *block
	for i, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
			continue
		case strings.TrimSpace(l) == "":
			cur = nil
			continue
		}
		if cur == nil {
			out = append(out, block{line: first + i})
			cur = &out[len(out)-1]
		}
		cur.text = append(cur.text, l)
	}
	return out
}

// segment is a piece of a template line: literal bytes, or a choice
// between alternatives ("{a|b|}").
type segment struct {
	lit    string
	choice []string
	isAlt  bool
}

// lexLine reads a template line: "{a|b}" is a choice, "\{", "\}", "\|",
// "\\" are literal, "\r", "\n", "\t", "\0", "\xHH" and "\s" (a space, for
// the end of a line) are bytes, and "\P" in a @tcp payload is a pause: the
// bytes after it are sent pauseFor later, as a second segment.
func lexLine(l string) ([]segment, error) {
	var segs []segment
	var cur strings.Builder
	var alts []string
	inAlt := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '\\' && i+1 < len(l):
			i++
			switch e := l[i]; e {
			case 'r':
				cur.WriteByte('\r')
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			case 's':
				cur.WriteByte(' ')
			case '0':
				cur.WriteByte(0)
			case 'P':
				cur.WriteString(pauseMark)
			case 'x':
				if i+2 >= len(l) {
					return nil, fmt.Errorf("\\x wants two hex digits")
				}
				n, err := strconv.ParseUint(l[i+1:i+3], 16, 8)
				if err != nil {
					return nil, fmt.Errorf("\\x%s: %v", l[i+1:i+3], err)
				}
				cur.WriteByte(byte(n))
				i += 2
			default:
				cur.WriteByte(e)
			}
		case c == '{' && !inAlt:
			segs = append(segs, segment{lit: cur.String()})
			cur.Reset()
			inAlt, alts = true, nil
		case c == '|' && inAlt:
			alts = append(alts, cur.String())
			cur.Reset()
		case c == '}' && inAlt:
			alts = append(alts, cur.String())
			cur.Reset()
			segs = append(segs, segment{choice: alts, isAlt: true})
			inAlt = false
		case c == '{' || c == '}':
			return nil, fmt.Errorf("unbalanced %q (write \\%c for the character)", c, c)
		default:
			cur.WriteByte(c)
		}
	}
	if inAlt {
		return nil, fmt.Errorf("'{' without '}'")
	}
	return append(segs, segment{lit: cur.String()}), nil
}

// pauseMark stands for "\P" in an expanded payload.
const pauseMark = "\x00\x01pause\x01\x00"

// maxExpansion bounds the requests one block may generate.
const maxExpansion = 512

// expand generates every combination of a block's choices, the first
// choice varying slowest.
func (b block) expand() ([][]string, error) {
	lines := make([][]segment, len(b.text))
	var radix []int
	total := 1
	for i, l := range b.text {
		segs, err := lexLine(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", b.line+i, err)
		}
		lines[i] = segs
		for _, s := range segs {
			if s.isAlt {
				radix = append(radix, len(s.choice))
				total *= len(s.choice)
			}
		}
	}
	if total > maxExpansion {
		return nil, fmt.Errorf("line %d: the block makes %d requests, more than %d", b.line, total, maxExpansion)
	}
	out := make([][]string, 0, total)
	digits := make([]int, len(radix))
	for n := 0; n < total; n++ {
		rem := n
		for d := len(radix) - 1; d >= 0; d-- {
			digits[d] = rem % radix[d]
			rem /= radix[d]
		}
		var rendered []string
		k := 0
		for _, segs := range lines {
			var sb strings.Builder
			for _, s := range segs {
				if s.isAlt {
					sb.WriteString(s.choice[digits[k]])
					k++
				} else {
					sb.WriteString(s.lit)
				}
			}
			if sb.Len() > 0 {
				rendered = append(rendered, sb.String()) // an empty line is dropped
			}
		}
		out = append(out, rendered)
	}
	return out, nil
}

// requests expands every block into requests.
func (c *caseFile) requests() ([]request, error) {
	var out []request
	for _, b := range c.blocks {
		all, err := b.expand()
		if err != nil {
			return nil, err
		}
		for _, lines := range all {
			r, err := makeRequest(b.line, lines)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", b.line, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// makeRequest reads a block's options ("@fe NAME", "@tls SNI", "@tcp",
// "@hello SNI [ALPN...]", "@body TEXT") and its request lines.
func makeRequest(line int, lines []string) (request, error) {
	r := request{line: line, fe: "fe"}
	var body *string
	var rest []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "@") {
			rest = append(rest, l)
			continue
		}
		kw, arg, _ := strings.Cut(l, " ")
		switch kw {
		case "@fe":
			r.fe = arg
		case "@tls":
			r.kind, r.sni = kindTLS, dash(arg)
		case "@tcp":
			r.kind = kindTCP
		case "@hello":
			f := strings.Fields(arg)
			if len(f) == 0 {
				return r, fmt.Errorf("@hello wants a server name (- for none)")
			}
			r.kind, r.sni, r.alpn = kindHello, dash(f[0]), f[1:]
		case "@body":
			body = &arg
		default:
			return r, fmt.Errorf("unknown option %s", kw)
		}
	}
	switch r.kind {
	case kindTCP:
		r.raw = []byte(strings.Join(rest, "\n"))
		r.describe = fmt.Sprintf("tcp %q", r.raw)
	case kindHello:
		r.describe = fmt.Sprintf("TLS hello sni=%q alpn=%q", r.sni, r.alpn)
	default:
		if len(rest) == 0 {
			return r, fmt.Errorf("no request line")
		}
		if body != nil {
			rest = append(rest, "Content-Length: "+strconv.Itoa(len(*body)))
		}
		raw := strings.Join(rest, "\r\n") + "\r\n\r\n"
		if body != nil {
			raw += *body
		}
		r.raw = []byte(raw)
		r.describe = fmt.Sprintf("%q", raw)
		if r.kind == kindTLS {
			r.describe = fmt.Sprintf("TLS sni=%q %s", r.sni, r.describe)
		}
	}
	if r.fe != "fe" {
		r.describe = "@" + r.fe + " " + r.describe
	}
	return r, nil
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
