package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load decodes a YAML (or JSON, a subset of YAML) cluster config and
// validates it. Every error carries the file name and, where the YAML tells,
// the line: "cluster.yaml:12: backends[web].servers[server1].address:
// missing port in "10.0.0.1"".
func Load(filename string, data []byte) (*Cluster, error) {
	c, root, err := decode(filename, data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		var es Errors
		if errors.As(err, &es) {
			for i := range es {
				es[i].File = filename
				es[i].Line = lineOf(root, es[i].Path)
			}
			return nil, es
		}
		return nil, err
	}
	return c, nil
}

// Decode parses YAML strictly (unknown fields are errors) without
// validating.
func Decode(filename string, data []byte) (*Cluster, error) {
	c, _, err := decode(filename, data)
	return c, err
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func decode(filename string, data []byte) (*Cluster, *yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, Errors{{File: filename, Msg: "empty config: want frontends and backends"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, yamlErrors(filename, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Cluster
	if err := dec.Decode(&c); err != nil {
		return nil, nil, yamlErrors(filename, err)
	}
	return &c, &root, nil
}

// yamlErrors turns the YAML library's messages into FieldErrors with lines.
func yamlErrors(filename string, err error) error {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	es := make(Errors, 0, len(msgs))
	for _, m := range msgs {
		fe := FieldError{File: filename, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := yamlLineRE.FindStringSubmatch(fe.Msg); sub != nil {
			fe.Line, _ = strconv.Atoi(sub[1])
			fe.Msg = sub[2]
		}
		fe.Msg = strings.ReplaceAll(fe.Msg, "config.", "")
		es = append(es, fe)
	}
	return es
}

// lineOf finds the line of a config path like
// "backends[web].servers[server1].address" in a YAML document; 0 if unknown.
func lineOf(root *yaml.Node, path string) int {
	if root == nil || path == "" {
		return 0
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range strings.Split(path, ".") {
		key, sel, hasSel := strings.Cut(seg, "[")
		n = mapValue(n, key)
		if n == nil {
			return line
		}
		line = n.Line
		if hasSel {
			n = seqItem(n, strings.TrimSuffix(sel, "]"))
			if n == nil {
				return line
			}
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func seqItem(n *yaml.Node, sel string) *yaml.Node {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	for _, item := range n.Content {
		if v := mapValue(item, "name"); v != nil && v.Value == sel {
			return item
		}
	}
	if i, err := strconv.Atoi(sel); err == nil && i >= 0 && i < len(n.Content) {
		return n.Content[i]
	}
	return nil
}

// YAML encodes c as the YAML that Load reads back.
func (c *Cluster) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config as yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config as yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// JSON encodes c as indented JSON.
func (c *Cluster) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config as json: %w", err)
	}
	return append(b, '\n'), nil
}

// scalarText decodes a YAML scalar through its TextUnmarshaler and puts the
// line into the error, which the YAML library would not.
func scalarText(n *yaml.Node, set func([]byte) error) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a single value", n.Line)
	}
	if err := set([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler with line numbers in errors.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, m.UnmarshalText) }

// UnmarshalYAML implements yaml.Unmarshaler with line numbers in errors.
func (a *Algorithm) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, a.UnmarshalText) }

// UnmarshalYAML implements yaml.Unmarshaler with line numbers in errors.
func (c *CheckType) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, c.UnmarshalText) }

// UnmarshalYAML implements yaml.Unmarshaler with line numbers in errors.
func (p *HealthPolicy) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, p.UnmarshalText) }

// UnmarshalYAML implements yaml.Unmarshaler with line numbers in errors.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, d.UnmarshalText) }

// MarshalYAML writes a duration in the shortest of HAProxy's units that
// holds it exactly ("2h", "90s", "1500ms"), which ParseDuration reads back;
// Go's form ("1h30m0s") for the rest.
func (d Duration) MarshalYAML() (any, error) {
	v := time.Duration(d)
	if v <= 0 {
		return v.String(), nil
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}} {
		if v%u.unit == 0 {
			return strconv.FormatInt(int64(v/u.unit), 10) + u.suffix, nil
		}
	}
	return v.String(), nil
}
