package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandem-lb/tandem/config"
)

// Client calls a node's admin API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the node at addr ("127.0.0.1:8404" or a URL).
func NewClient(addr, token string) *Client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an API error answer.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Is lets errors.Is match the API's error kinds.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == "not_found"
	case ErrConflict:
		return e.Code == "conflict"
	case ErrNoQuorum:
		return e.Code == "no_quorum"
	case ErrBadRequest:
		return e.Code == "bad_request"
	}
	return false
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, &s)
	return s, err
}

// ClusterStatus returns the node's status with every LB node's traffic
// summed (Cluster fields) and, with perNode, each node's (ByNode).
func (c *Client) ClusterStatus(ctx context.Context, perNode bool) (Status, error) {
	var s Status
	path := "/api/v1/status?cluster=1"
	if perNode {
		path += "&nodes=1"
	}
	err := c.do(ctx, http.MethodGet, path, nil, &s)
	return s, err
}

// Config returns the current config and its version.
func (c *Client) Config(ctx context.Context) (ConfigResponse, error) {
	var r ConfigResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/config", nil, &r)
	return r, err
}

// ApplyConfig applies a config cluster-wide.
func (c *Client) ApplyConfig(ctx context.Context, req ApplyRequest) (ApplyResponse, error) {
	var r ApplyResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/config", req, &r)
	return r, err
}

// SetServer changes a server's admin state and/or weight.
func (c *Client) SetServer(ctx context.Context, key config.ServerKey, req ServerRequest) error {
	path := "/api/v1/servers/" + url.PathEscape(key.Backend) + "/" + url.PathEscape(key.Server)
	return c.do(ctx, http.MethodPost, path, req, nil)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach tandem agent at %s (is it running? set --api-addr or TANDEM_API_ADDR): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			return &Error{Status: resp.StatusCode, Code: eb.Code, Msg: eb.Error}
		}
		return &Error{Status: resp.StatusCode, Code: "internal", Msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// ConfigVersion returns one version from the history.
func (c *Client) ConfigVersion(ctx context.Context, v uint64) (ConfigResponse, error) {
	var r ConfigResponse
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/config?version=%d", v), nil, &r)
	return r, err
}

// History lists the config versions the cluster still holds.
func (c *Client) History(ctx context.Context) ([]HistoryEntry, error) {
	var h []HistoryEntry
	err := c.do(ctx, http.MethodGet, "/api/v1/config/history", nil, &h)
	return h, err
}

// Rollback makes a new version equal to an old one.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (ApplyResponse, error) {
	var r ApplyResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/config/rollback", req, &r)
	return r, err
}

// Join asks the node to join a cluster through these gossip addresses.
func (c *Client) Join(ctx context.Context, addrs []string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/cluster/join", JoinRequest{Addrs: addrs}, nil)
}

// Leave asks the node to leave the cluster gracefully.
func (c *Client) Leave(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/v1/cluster/leave", struct{}{}, nil)
}

// Recover plans (req.DryRun) or forces a recovery of a cluster that lost
// its quorum for good; see RecoverRequest.
func (c *Client) Recover(ctx context.Context, req RecoverRequest) (RecoveryPlan, error) {
	var plan RecoveryPlan
	err := c.do(ctx, http.MethodPost, "/api/v1/cluster/recover", req, &plan)
	return plan, err
}

// Remove removes a node that is gone for good.
func (c *Client) Remove(ctx context.Context, node string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/cluster/remove", RemoveRequest{Node: node}, nil)
}

// Deploys returns the recorded rolling deploys by backend.
func (c *Client) Deploys(ctx context.Context) (map[string]DeployRecord, error) {
	var d map[string]DeployRecord
	err := c.do(ctx, http.MethodGet, "/api/v1/deploys", nil, &d)
	return d, err
}

// RecordDeploy records a deploy's progress cluster-wide; ErrConflict when
// another deploy of that backend is running.
func (c *Client) RecordDeploy(ctx context.Context, rec DeployRecord) error {
	return c.do(ctx, http.MethodPost, "/api/v1/deploys/"+url.PathEscape(rec.Backend), rec, nil)
}

// VIPs returns the node's view of every VIP.
func (c *Client) VIPs(ctx context.Context) ([]VIPStatus, error) {
	var v []VIPStatus
	err := c.do(ctx, http.MethodGet, "/api/v1/vips", nil, &v)
	return v, err
}

// ReleaseVIP hands a VIP ("" or "all": every VIP) over to the next holder.
func (c *Client) ReleaseVIP(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/vips/"+url.PathEscape(orAll(name))+"/release", struct{}{}, nil)
}

// ReclaimVIP ends a release: the node may hold the VIP again.
func (c *Client) ReclaimVIP(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/vips/"+url.PathEscape(orAll(name))+"/reclaim", struct{}{}, nil)
}

func orAll(name string) string {
	if name == "" {
		return "all"
	}
	return name
}
