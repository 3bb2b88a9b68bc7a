package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tandem-lb/tandem/testenv"
)

// newTestsiteCmd is `tandem testsite`: one of the article's test sites,
// for trying tandem out and for the benchmark harness.
func newTestsiteCmd() *cobra.Command {
	var cfg testenv.SiteConfig
	cmd := &cobra.Command{
		Use:   "testsite",
		Short: "Run a test web site like the article's (answers \"HAProxy <name>\", serves deploy.txt)",
		Long: `Run a test backend like the two IIS sites of the article tandem comes from.

GET / and /default.htm answer "HAProxy <name>"; every response carries
X-Served-By: <name>. Other paths are served from --root, which is created with
an empty deploy.txt if it does not exist: the health check
"HEAD /deploy.txt HTTP/1.0" passes while the file is there, and renaming it
takes the site out of rotation.

Test endpoints: /slow?ms=N, /stream?bytes=N (chunked), /echo (POST/PUT,
streamed back), /headers (request headers as text), /ws (WebSocket upgrade,
then raw echo).`,
		Example: `  tandem testsite --name server1 --listen 127.0.0.1:8001 --root /tmp/site1
  tandem testsite --name server2 --listen 127.0.0.1:8002 --root /tmp/site2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
			site, err := testenv.NewSite(cfg, logger)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := site.Run(ctx); err != nil {
				return fmt.Errorf("testsite: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Name, "name", "", "site name, answered at / and in X-Served-By (e.g. server1)")
	f.StringVar(&cfg.Listen, "listen", "", "address to listen on, host:port (e.g. 127.0.0.1:8001)")
	f.StringVar(&cfg.Root, "root", "", "directory to serve; created with an empty deploy.txt if missing")
	for _, name := range []string{"name", "listen", "root"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
