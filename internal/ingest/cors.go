package ingest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// originAllowed reports whether a browser origin may send events for src. An empty
// AllowedOrigins list allows every origin (the public key is not a secret; the list is there to
// keep other sites from polluting a source). Entries are origins ("https://shop.example.com"),
// "*", or a wildcard host ("https://*.example.com").
func originAllowed(src store.Source, origin string) bool {
	if len(src.AllowedOrigins) == 0 {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" {
		return false
	}
	for _, a := range src.AllowedOrigins {
		a = strings.TrimSuffix(strings.TrimSpace(a), "/")
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
		if scheme, host, ok := strings.Cut(a, "://*."); ok {
			if strings.EqualFold(scheme, o.Scheme) && hostWithin(strings.ToLower(o.Host), host) && !strings.EqualFold(o.Host, host) {
				return true
			}
		}
	}
	return false
}

// cors sets the CORS headers of a collect response. Credentials are allowed, so the origin is
// echoed, never "*": the response's Set-Cookie must be accepted by the browser. A request from
// an origin the source does not allow is refused with 403.
func (s *Service) cors(w http.ResponseWriter, r *http.Request, src store.Source) bool {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		return true // not a browser cross-origin request (curl, server-side, same-origin beacons)
	}
	if !originAllowed(src, origin) {
		writeProblem(w, r, newProblem(http.StatusForbidden, "this origin may not send events for the source", domain.FieldError{Field: "Origin", Reason: "is not in the source's allowed origins"}))
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	return true
}

// handlePreflight answers OPTIONS /v1/collect. When the key is in the query (t.js sends it
// there), the source's allowed origins are checked already; otherwise the POST checks them.
func (s *Service) handlePreflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	if origin == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if key := r.URL.Query().Get("key"); key != "" {
		src, ok := s.source(w, r, key)
		if !ok {
			return
		}
		if !originAllowed(src, origin) {
			writeProblem(w, r, newProblem(http.StatusForbidden, "this origin may not send events for the source", domain.FieldError{Field: "Origin", Reason: "is not in the source's allowed origins"}))
			return
		}
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
