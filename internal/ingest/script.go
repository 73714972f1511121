package ingest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

//go:embed t.js
var scriptSource []byte

// scriptPlaceholder is replaced by the gateway table when the service starts, so the browser and
// the tracking links decorate checkout URLs from the same table.
const scriptPlaceholder = "/*HUB_CONFIG*/{}"

// script is t.js as served: the bytes, their gzip and an ETag for both.
type script struct {
	body, gz []byte
	etag     string
}

func buildScript(gw gatewayTable, genericParam string) (*script, error) {
	if !bytes.Contains(scriptSource, []byte(scriptPlaceholder)) {
		return nil, fmt.Errorf("ingest: t.js has no %s placeholder", scriptPlaceholder)
	}
	cfg := gw.jsTable()
	cfg["g"] = genericParam
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("ingest: t.js config: %w", err)
	}
	body := bytes.Replace(scriptSource, []byte(scriptPlaceholder), js, 1)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("ingest: gzip t.js: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ingest: gzip t.js: %w", err)
	}
	sum := sha256.Sum256(body)
	return &script{body: body, gz: buf.Bytes(), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}, nil
}

// handleScript serves t.js. It is cached for an hour and revalidated by ETag after that, so a
// new Hub version reaches every page within the hour while most loads cost a 304 or nothing.
func (s *Service) handleScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600, stale-while-revalidate=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Vary", "Accept-Encoding")
	gz := acceptsGzip(r)
	etag := s.script.etag
	if gz {
		etag = strings.TrimSuffix(etag, `"`) + `-gz"`
	}
	h.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := s.script.body
	if gz {
		body = s.script.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		_, qv, hasQ := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if q, err := strconv.ParseFloat(qv, 64); hasQ && err == nil && q == 0 {
			return false
		}
		return true
	}
	return false
}

// etagMatch implements If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
