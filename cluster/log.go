package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Raft logs through hclog and memberlist through a *log.Logger; both are
// routed into the node's slog logger so that one handler formats every line
// (MetalLB's speakerlist/log.go does the same for memberlist).

// newRaftLogger returns an hclog.Logger that writes JSON lines into
// slogWriter, which turns each back into a slog record.
func newRaftLogger(logger *slog.Logger) hclog.Logger {
	level := hclog.Info
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "raft",
		Level:      level,
		JSONFormat: true,
		Output:     &hclogWriter{logger: logger},
	})
}

type hclogWriter struct{ logger *slog.Logger }

func (w *hclogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			w.logger.Info(string(line))
			continue
		}
		level := hclogLevel(rec["@level"])
		msg, _ := rec["@message"].(string)
		attrs := make([]any, 0, 2*len(rec))
		for _, k := range slices.Sorted(maps.Keys(rec)) {
			if !strings.HasPrefix(k, "@") {
				attrs = append(attrs, k, rec[k])
			}
		}
		w.logger.Log(context.Background(), level, msg, attrs...)
	}
	return len(p), nil
}

func hclogLevel(v any) slog.Level {
	switch v {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// newMemberlistLogger returns a *log.Logger whose lines ("[WARN] memberlist:
// msg") become slog records at the matching level.
func newMemberlistLogger(logger *slog.Logger) *log.Logger {
	return log.New(&memberlistWriter{logger: logger}, "", 0)
}

type memberlistWriter struct{ logger *slog.Logger }

var memberlistLevels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

func (w *memberlistWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		level := slog.LevelInfo
		for _, l := range memberlistLevels {
			if rest, ok := strings.CutPrefix(line, l.prefix); ok {
				level, line = l.level, strings.TrimSpace(rest)
				break
			}
		}
		line = strings.TrimPrefix(line, "memberlist: ")
		w.logger.Log(context.Background(), level, line)
	}
	return len(p), nil
}
