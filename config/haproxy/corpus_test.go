package haproxy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tandem-lb/tandem/config"
)

var update = flag.Bool("update", false, "rewrite the corpus's .golden files")

// corpusRoot is the file system the corpus configs read their maps,
// pattern files, error files and certificates from, as "/".
const corpusRoot = "testdata/corpus/root"

// corpusOptions reads a corpus file's header comments: "# import: --lenient"
// and "# env: NAME=value ...".
func corpusOptions(data []byte) Options {
	env := map[string]string{}
	opts := Options{Files: FromFS(os.DirFS(corpusRoot), "/etc/haproxy")}
	for l := range strings.SplitSeq(string(data), "\n") {
		switch {
		case l == "# import: --lenient":
			opts.Lenient = true
		case strings.HasPrefix(l, "# env: "):
			for _, kv := range strings.Fields(strings.TrimPrefix(l, "# env: ")) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	opts.Env = func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	return opts
}

// importText is what config import prints for a cfg: its warnings, then
// its errors or its YAML.
func importText(t *testing.T, name string, data []byte) (string, *config.Cluster) {
	t.Helper()
	c, warns, err := Parse(name, data, corpusOptions(data))
	var b strings.Builder
	b.WriteString("# warnings\n")
	for _, w := range warns {
		b.WriteString(w.String() + "\n")
	}
	if err != nil {
		b.WriteString("# errors\n")
		for _, e := range err.(config.Errors) {
			b.WriteString(e.Error() + "\n")
		}
		return b.String(), nil
	}
	y, yerr := c.YAML()
	if yerr != nil {
		t.Fatalf("YAML: %v", yerr)
	}
	b.WriteString("# yaml\n")
	b.Write(y)
	return b.String(), c
}

// TestCorpus imports every haproxy.cfg of testdata/corpus and compares
// warnings and YAML, or errors, with its .golden file (go test -update
// rewrites them). An imported config must come back the same from its
// YAML and validate.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.cfg")
	if err != nil || len(files) < 25 {
		t.Fatalf("corpus: %d files (%v), want at least 25", len(files), err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".cfg"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, c := importText(t, name, data)
			golden := strings.TrimSuffix(f, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCorpus -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-golden +got):\n%s", name, diff)
			}
			if c != nil {
				checkRoundTrip(t, c)
			}
		})
	}
}

// checkRoundTrip decodes c's YAML and wants the same config, valid.
func checkRoundTrip(t testing.TB, c *config.Cluster) {
	t.Helper()
	y, err := c.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	back, err := config.Load("cluster.yaml", y)
	if err != nil {
		t.Fatalf("the imported YAML does not load: %v\n%s", err, y)
	}
	if diff := cmp.Diff(c, back, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("import -> YAML -> load differs (-imported +loaded):\n%s", diff)
	}
}
