package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/store"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// masks is the registry whose adapters declare what to mask in raw webhooks.
var masks = webhookall.Default()

// mayRevealPII says whether the signed-in user may ask to see the personal data in raw
// webhooks (the gateway's secret is never shown). Only a tenant admin may, as in the API.
func mayRevealPII(p page) bool { return p.User.ID != "" && p.User.Role == store.RoleAdmin }

// rawWebhook is a stored delivery's body as the order page shows it: masked by the
// gateway's declaration (secret always, personal data unless reveal), JSON indented and form
// data one decoded field per line. The stored body is not touched.
func rawWebhook(e store.InboxEntry, reveal bool) string {
	m := masks.MaskDelivery(e.Provider, e.Headers, e.Query, e.Body, reveal)
	var out bytes.Buffer
	if json.Indent(&out, m.Body, "", "  ") == nil {
		return out.String()
	}
	s := string(m.Body)
	if strings.HasPrefix(s, "[body withheld") || !strings.Contains(s, "=") {
		return s
	}
	lines := strings.Split(s, "&")
	for i, pair := range lines {
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return s
		}
		lines[i] = dk + " = " + dv
	}
	return strings.Join(lines, "\n")
}
