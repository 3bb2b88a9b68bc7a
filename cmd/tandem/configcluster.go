package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
	"github.com/tandem-lb/tandem/config"
)

// configYAML renders a config for diffs; nil renders empty.
func configYAML(c *config.Cluster) (string, error) {
	if c == nil {
		return "", nil
	}
	b, err := c.YAML()
	return string(b), err
}

// printDiff prints what applying next over cur changes.
func printDiff(w io.Writer, cur *config.Cluster, curVersion uint64, next *config.Cluster, name string) (bool, error) {
	a, err := configYAML(cur)
	if err != nil {
		return false, err
	}
	b, err := configYAML(next)
	if err != nil {
		return false, err
	}
	return writeDiff(w, fmt.Sprintf("cluster (version %d)", curVersion), name, a, b), nil
}

func newConfigDiffCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "diff -f FILE",
		Short: "Show what applying FILE would change",
		Args:  exactArgs(0, "no arguments (the file is -f FILE)"),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("config diff: -f FILE is required")}
			}
			l, err := loadFile(file, c.ErrOrStderr(), loadOptions{storeCerts: true, haproxyDir: g.haproxyDir})
			if err != nil {
				return err
			}
			next := l.cfg
			cur, err := g.client().Config(c.Context())
			if err != nil {
				return err
			}
			changed, err := printDiff(c.OutOrStdout(), cur.Config, cur.Version, next, file)
			if err == nil && !changed {
				fmt.Fprintf(c.OutOrStdout(), "no change from version %d\n", cur.Version)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "config file (YAML, JSON or haproxy.cfg)")
	return cmd
}

func newConfigHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "List config versions: version, time, node, message",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := g.client().History(c.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tTIME\tNODE\tMESSAGE")
			for _, e := range h {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Version, e.Time.Local().Format("2006-01-02 15:04:05"), e.Node, e.Message)
			}
			return tw.Flush()
		},
	}
}

func newConfigRollbackCmd(g *globals) *cobra.Command {
	var msg string
	return withMessage(&cobra.Command{
		Use:   "rollback VERSION",
		Short: "Apply an old version again (as a new version)",
		Args:  exactArgs(1, "the version to roll back to"),
		RunE: func(c *cobra.Command, args []string) error {
			to, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || to == 0 {
				return usageError{fmt.Errorf("version %q: want a positive number (see tandem config history)", args[0])}
			}
			cl := g.client()
			cur, err := cl.Config(c.Context())
			if err != nil {
				return err
			}
			old, err := cl.ConfigVersion(c.Context(), to)
			if err != nil {
				return err
			}
			if _, err := printDiff(c.OutOrStdout(), cur.Config, cur.Version, old.Config, fmt.Sprintf("version %d", to)); err != nil {
				return err
			}
			if msg == "" {
				msg = fmt.Sprintf("rollback to version %d", to)
			}
			r, err := cl.Rollback(c.Context(), api.RollbackRequest{To: to, ExpectedVersion: cur.Version, Message: msg})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "rolled back to version %d: config version %d\n", to, r.Version)
			return nil
		},
	}, &msg)
}

func withMessage(cmd *cobra.Command, msg *string) *cobra.Command {
	cmd.Flags().StringVarP(msg, "message", "m", "", "change message recorded in the history")
	return cmd
}

// newConfigEditCmd opens the current config in $EDITOR; an invalid edit is
// re-opened with the errors on top, like kubectl edit.
func newConfigEditCmd(g *globals) *cobra.Command {
	var msg string
	return withMessage(&cobra.Command{
		Use:   "edit",
		Short: "Edit the cluster config in $EDITOR and apply it",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			cl := g.client()
			cur, err := cl.Config(c.Context())
			if err != nil {
				return err
			}
			text, err := configYAML(cur.Config)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "tandem-edit-")
			if err != nil {
				return fmt.Errorf("create temp dir: %w", err)
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, "cluster.yaml")
			header := fmt.Sprintf("# Editing config version %d. Save and quit to apply; empty the file to cancel.\n", cur.Version)
			content := header + text
			for {
				edited, err := runEditor(path, content)
				if err != nil {
					return err
				}
				if len(bytes.TrimSpace(stripComments(edited))) == 0 {
					fmt.Fprintln(c.OutOrStdout(), "edit cancelled: empty file")
					return nil
				}
				next, err := config.Load("cluster.yaml", edited)
				if err != nil {
					content = header + "# The edit was not applied:\n" + commentLines(err.Error()) + string(stripComments(edited))
					continue
				}
				changed, err := printDiff(c.OutOrStdout(), cur.Config, cur.Version, next, "edited")
				if err != nil {
					return err
				}
				if !changed {
					fmt.Fprintln(c.OutOrStdout(), "no change")
					return nil
				}
				r, err := cl.ApplyConfig(c.Context(), api.ApplyRequest{ExpectedVersion: cur.Version, Config: next, Message: msg})
				var ae *api.Error
				if errors.As(err, &ae) && ae.Code == "bad_request" {
					content = header + "# The edit was not applied:\n" + commentLines(err.Error()) + string(stripComments(edited))
					continue
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "applied: config version %d\n", r.Version)
				return nil
			}
		},
	}, &msg)
}

func runEditor(path, content string) ([]byte, error) {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "editor", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run editor %q: %w (set $EDITOR)", editor, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read edited config: %w", err)
	}
	return b, nil
}

// stripComments drops leading comment lines (ours), keeping the YAML.
func stripComments(b []byte) []byte {
	for len(b) > 0 && b[0] == '#' {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	return b
}

func commentLines(s string) string {
	var buf bytes.Buffer
	for _, l := range splitLines(s) {
		buf.WriteString("#   " + l + "\n")
	}
	return buf.String()
}
