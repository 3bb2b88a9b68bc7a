package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/api"
)

func newCertCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Certificates edited once: stored in the cluster, served by every LB node",
		Long: `Certificates live in the cluster's replicated state, their private keys sealed
with a key derived from the cluster key: add one on any node and every node serves
it within a second, to the frontends whose tls.certificates name it. A renewal
(cert add with the same name) swaps it live, without a config version and without
dropping a TLS connection.`,
	}
	var certFile, keyFile string
	add := &cobra.Command{
		Use:   "add NAME --cert FILE --key FILE",
		Short: "Add or replace a certificate (PEM chain, leaf first, and its PEM key)",
		Args:  exactArgs(1, "a certificate name"),
		RunE: func(c *cobra.Command, args []string) error {
			if certFile == "" || keyFile == "" {
				return usageError{fmt.Errorf("--cert and --key are required")}
			}
			certPEM, err := os.ReadFile(certFile)
			if err != nil {
				return fmt.Errorf("read certificate: %w", err)
			}
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("read key: %w", err)
			}
			req := api.CertificateRequest{Name: args[0], Cert: string(certPEM), Key: string(keyPEM)}
			if err := g.client().AddCertificate(c.Context(), req); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "certificate %s stored\n", args[0])
			return nil
		},
	}
	add.Flags().StringVar(&certFile, "cert", "", "PEM file with the certificate chain, leaf first")
	add.Flags().StringVar(&keyFile, "key", "", "PEM file with the private key (may be the same file)")
	cmd.AddCommand(add)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the certificates: names, issuer, expiry, which frontends serve them",
		Args:  exactArgs(0, "nothing"),
		RunE: func(c *cobra.Command, _ []string) error {
			certs, err := g.client().Certificates(c.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tNAMES\tISSUER\tNOT AFTER\tFRONTENDS")
			for _, ci := range certs {
				left := time.Until(ci.NotAfter).Round(time.Hour)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\n", ci.Name, strings.Join(ci.Names, ","), ci.Issuer,
					ci.NotAfter.Format("2006-01-02"), left, orDash(strings.Join(ci.UsedBy, ",")))
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a certificate no frontend serves",
		Args:  exactArgs(1, "a certificate name"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := g.client().RemoveCertificate(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "certificate %s removed\n", args[0])
			return nil
		},
	})
	return cmd
}
