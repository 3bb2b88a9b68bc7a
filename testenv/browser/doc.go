// Package browser holds the dashboard's end-to-end test: Debian's chromium,
// driven by chromedp, loads the dashboards of a real two-node cluster
// (testenv/proctest agent processes on loopback), drains a server from one
// node's page and sees it on the other's, and saves screenshots. The same
// test scrapes /metrics with the Prometheus text parser and checks the
// access log field by field.
//
// Chromium is installed with apt-get when missing and the test runs as
// root; otherwise the test is skipped, or fails when CI=true. Set
// TANDEM_SCREENSHOT_DIR to keep the screenshots.
package browser
