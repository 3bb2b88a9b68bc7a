package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new cluster_key (32 random bytes, base64) for gossip and Raft encryption",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return fmt.Errorf("read random bytes: %w", err)
			}
			fmt.Fprintln(c.OutOrStdout(), base64.StdEncoding.EncodeToString(key))
			return nil
		},
	}
}
