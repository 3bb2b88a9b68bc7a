package testenv

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
)

// websocketGUID is the fixed GUID of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// WebSocketAccept returns the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key (RFC 6455 section 4.2.2).
func WebSocketAccept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// serveWebSocket does the server side of the RFC 6455 opening handshake,
// answers 101, and then echoes raw bytes (no framing) until either side
// closes. That is all a proxy test needs: the upgrade passes and the tunnel
// carries bytes both ways.
func (s *Site) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Upgrade", "websocket") ||
		!headerHasToken(r.Header, "Connection", "upgrade") {
		http.Error(w, "want Upgrade: websocket and Connection: Upgrade", http.StatusBadRequest)
		return
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "want Sec-WebSocket-Version: 13", http.StatusUpgradeRequired)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		http.Error(w, "want Sec-WebSocket-Key: base64 of 16 bytes", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	untrack, ok := s.trackHijacked(conn)
	if !ok {
		return // shutting down
	}
	defer untrack()

	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + WebSocketAccept(key) + "\r\n" +
		"X-Served-By: " + s.cfg.Name + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	echoTunnel(conn, brw.Reader)
}

// echoTunnel writes back every byte read: first what net/http had already
// buffered, then the connection itself.
func echoTunnel(conn net.Conn, buffered *bufio.Reader) {
	if n := buffered.Buffered(); n > 0 {
		b, _ := buffered.Peek(n)
		if _, err := conn.Write(b); err != nil {
			return
		}
	}
	io.Copy(conn, conn)
}

// headerHasToken reports whether a comma-separated header contains token,
// case-insensitively ("Connection: keep-alive, Upgrade").
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
