package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Validate, import, show and apply the cluster config",
	}
	cmd.PersistentFlags().StringVar(&g.haproxyDir, "haproxy-dir", "/", "haproxy.cfg: the directory HAProxy runs in; relative file names (maps, error files, certificates) are read from it unless default-path says otherwise, as HAProxy reads them")
	cmd.AddCommand(newConfigValidateCmd(g), newConfigImportCmd(g), newConfigGetCmd(g), newConfigApplyCmd(g),
		newConfigDiffCmd(g), newConfigHistoryCmd(g), newConfigRollbackCmd(g), newConfigEditCmd(g))
	return cmd
}

func newConfigValidateCmd(g *globals) *cobra.Command {
	var file string
	var lenient bool
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a cluster config (YAML or haproxy.cfg) and report every problem",
		Args:  exactArgs(0, "no arguments (the file is -f FILE)"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("config validate: -f FILE is required")}
			}
			l, err := loadFile(file, c.ErrOrStderr(), loadOptions{lenient: lenient, storeCerts: true, haproxyDir: g.haproxyDir})
			if err != nil {
				return err
			}
			cfg := l.cfg
			fmt.Fprintf(c.OutOrStdout(), "%s: valid (%d frontends, %d backends, %d servers)\n", file, len(cfg.Frontends), len(cfg.Backends), countServers(cfg))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "config file (YAML, JSON or haproxy.cfg)")
	cmd.Flags().BoolVar(&lenient, "lenient", false, "haproxy.cfg: accept what tandem serves differently from HAProxy, with a warning each")
	return cmd
}

func countServers(c *config.Cluster) int {
	n := 0
	for _, b := range c.Backends {
		n += len(b.Servers)
	}
	return n
}

func newConfigImportCmd(g *globals) *cobra.Command {
	var out, certs string
	var lenient bool
	cmd := &cobra.Command{
		Use:   "import HAPROXY_CFG [--lenient]",
		Short: "Translate a haproxy.cfg into tandem's YAML, refusing what tandem would serve differently from HAProxy",
		Long: `Translate a haproxy.cfg into tandem's YAML with HAProxy 2.6's semantics.

Map, ACL pattern and error files the cfg names are read (relative paths from
the cfg's directory) and carried in the YAML; "${VAR}" expands from this
environment. Directives tandem would route, answer or check health for
differently from HAProxy are errors with file:line; --lenient turns them into
warnings. Directives that change no traffic (log, uid, nbthread, tune.*) are
warnings.

The certificates of crt and crt-list (with their keys) are checked and stored
in the cluster (--certs store, the default: an agent must be reachable, as for
tandem cert add), named after their files; the YAML names them. --certs paths
keeps the PEM paths instead, to be present on every LB node.`,
		Args: exactArgs(1, "the haproxy.cfg path"),
		RunE: func(c *cobra.Command, args []string) error {
			if certs != "store" && certs != "paths" {
				return usageError{fmt.Errorf("--certs %q: want store or paths", certs)}
			}
			l, err := loadFile(args[0], c.ErrOrStderr(), loadOptions{lenient: lenient, storeCerts: certs == "store", haproxyDir: g.haproxyDir})
			if err != nil {
				return err
			}
			if err := storeCertificates(c.Context(), g.client(), l.certs, c.ErrOrStderr()); err != nil {
				return fmt.Errorf("%w (tandem config import --certs paths translates without an agent, naming the PEM files every node must have)", err)
			}
			y, err := l.cfg.YAML()
			if err != nil {
				return err
			}
			y = append([]byte("# imported from "+args[0]+" by tandem config import\n"), y...)
			if out == "" || out == "-" {
				_, err = c.OutOrStdout().Write(y)
				return err
			}
			if err := os.WriteFile(out, y, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintf(c.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the YAML to this file instead of stdout")
	cmd.Flags().BoolVar(&lenient, "lenient", false, "accept what tandem serves differently from HAProxy, with a warning each")
	cmd.Flags().StringVar(&certs, "certs", "store", "store: add the cfg's certificates to the cluster and name them; paths: name their PEM files")
	return cmd
}

func newConfigGetCmd(g *globals) *cobra.Command {
	var format string
	var version uint64
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Print the current cluster config",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			var r api.ConfigResponse
			var err error
			if version > 0 {
				r, err = g.client().ConfigVersion(c.Context(), version)
			} else {
				r, err = g.client().Config(c.Context())
			}
			if err != nil {
				return err
			}
			if r.Config == nil {
				return fmt.Errorf("no config applied yet: tandem config apply -f FILE")
			}
			var b []byte
			switch format {
			case "yaml":
				b, err = r.Config.YAML()
				b = append([]byte(fmt.Sprintf("# version %d\n", r.Version)), b...)
			case "json":
				b, err = json.MarshalIndent(r, "", "  ")
				b = append(b, '\n')
			default:
				return usageError{fmt.Errorf("config get: -o %q: want yaml or json", format)}
			}
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "yaml", "yaml or json")
	cmd.Flags().Uint64Var(&version, "version", 0, "print this version from the history instead of the current one")
	return cmd
}

func newConfigApplyCmd(g *globals) *cobra.Command {
	var file, msg string
	var expected uint64
	cmd := &cobra.Command{
		Use:   "apply -f FILE [-m MESSAGE]",
		Short: "Validate a config (YAML or haproxy.cfg) and apply it to the whole cluster",
		Args:  exactArgs(0, "no arguments (the file is -f FILE)"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("config apply: -f FILE is required")}
			}
			l, err := loadFile(file, c.ErrOrStderr(), loadOptions{storeCerts: true, haproxyDir: g.haproxyDir})
			if err != nil {
				return err
			}
			cfg, cl := l.cfg, g.client()
			cur, err := cl.Config(c.Context())
			if err != nil {
				return err
			}
			if expected == 0 {
				expected = cur.Version
			}
			if _, err := printDiff(c.OutOrStdout(), cur.Config, cur.Version, cfg, file); err != nil {
				return err
			}
			if err := storeCertificates(c.Context(), cl, l.certs, c.OutOrStdout()); err != nil {
				return err
			}
			r, err := cl.ApplyConfig(c.Context(), api.ApplyRequest{ExpectedVersion: expected, Config: cfg, Message: msg})
			if err != nil {
				return fmt.Errorf("apply %s: %w", file, err)
			}
			fmt.Fprintf(c.OutOrStdout(), "applied %s: config version %d\n", file, r.Version)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "config file (YAML, JSON or haproxy.cfg)")
	cmd.Flags().StringVarP(&msg, "message", "m", "", "change message recorded in the history")
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "fail unless the cluster is at this version (default: the version read just before)")
	return cmd
}
