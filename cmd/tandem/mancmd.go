package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd generates one man page per command (section 1) from the cobra
// commands themselves, so the pages never drift from --help. It is hidden:
// `make deb` runs it at build time. Shell completion comes from cobra's own
// `tandem completion bash|zsh|fish`.
func newManCmd() *cobra.Command {
	var dir, source string
	cmd := &cobra.Command{
		Use:    "man --dir DIR",
		Short:  "Write the man pages of every command into DIR (used by make deb)",
		Hidden: true,
		Args:   exactArgs(0, "no arguments (the directory is --dir)"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create man page dir: %w", err)
			}
			// The date is SOURCE_DATE_EPOCH's when set (reproducible builds).
			h := &doc.GenManHeader{Title: "TANDEM", Section: "1", Source: source, Manual: "tandem manual"}
			if err := doc.GenManTree(c.Root(), h, dir); err != nil {
				return fmt.Errorf("write man pages to %s: %w", dir, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write NAME.1 files into (created if missing)")
	cmd.Flags().StringVar(&source, "source", "tandem", `the pages' source line, e.g. "tandem 1.2.0"`)
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
