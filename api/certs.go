package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// CertificateInfo describes one certificate of the cluster's store.
type CertificateInfo struct {
	Name     string    `json:"name"`
	Names    []string  `json:"names"` // DNS SANs
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	// UsedBy are the frontends that serve it.
	UsedBy []string  `json:"used_by,omitempty"`
	Node   string    `json:"node,omitempty"` // who added it
	Time   time.Time `json:"time"`
}

// CertificateRequest adds or replaces a certificate: PEM chain (leaf
// first) and PEM private key. The key is sealed with the cluster key by
// the node that takes the request, before it reaches the replicated log.
type CertificateRequest struct {
	Name string `json:"name"`
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// CertNode is what the certificate routes need of a node.
type CertNode interface {
	Certificates() []CertificateInfo
	AddCertificate(ctx context.Context, req CertificateRequest) error
	RemoveCertificate(ctx context.Context, name string) error
}

// HandleCertificates adds the routes of the certificate store:
//
//	GET    /api/v1/certificates          the store (no keys)
//	POST   /api/v1/certificates          add or replace one
//	DELETE /api/v1/certificates/{name}   remove one (refused while in use)
func (s *Server) HandleCertificates(n CertNode) {
	s.mux.Handle("GET /api/v1/certificates", s.auth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, n.Certificates())
	}))
	s.mux.Handle("POST /api/v1/certificates", s.auth(func(w http.ResponseWriter, r *http.Request) {
		var req CertificateRequest
		if decodeBody(w, r, &req) {
			s.result(w, n.AddCertificate(r.Context(), req))
		}
	}))
	s.mux.Handle("DELETE /api/v1/certificates/{name}", s.auth(func(w http.ResponseWriter, r *http.Request) {
		s.result(w, n.RemoveCertificate(r.Context(), r.PathValue("name")))
	}))
}

// Certificates lists the cluster's certificates.
func (c *Client) Certificates(ctx context.Context) ([]CertificateInfo, error) {
	var out []CertificateInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/certificates", nil, &out)
	return out, err
}

// AddCertificate adds or replaces a certificate.
func (c *Client) AddCertificate(ctx context.Context, req CertificateRequest) error {
	return c.do(ctx, http.MethodPost, "/api/v1/certificates", req, nil)
}

// RemoveCertificate removes a certificate no frontend serves.
func (c *Client) RemoveCertificate(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/certificates/"+url.PathEscape(name), nil, nil)
}
