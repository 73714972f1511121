package api

import (
	"net/http"

	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/all"
)

// RevealPII is the value of the reveal query parameter that shows the personal data of raw
// webhooks. Secrets are never shown.
const RevealPII = "pii"

// masks is the registry whose adapters declare what to mask in raw webhooks.
var masks = all.Default()

// revealPII reads the reveal parameter of a raw-webhook view: only an admin key may ask for
// personal data, and every reveal is audited with the inbox ids it opened.
func revealPII(r *http.Request, p principal) (bool, error) {
	q := newQuery(r, "reveal")
	v := q.oneOf("reveal", RevealPII)
	if err := q.err(); err != nil {
		return false, err
	}
	if v == "" {
		return false, nil
	}
	if p.Role != store.RoleAdmin {
		return false, httpx.NewProblem(http.StatusForbidden, "only an admin key may reveal personal data")
	}
	return true, nil
}

// maskedWebhook is the detail view of a stored delivery: the secret is always masked, personal
// data unless reveal.
func maskedWebhook(e store.InboxEntry, reveal bool) Webhook {
	m := masks.MaskDelivery(e.Provider, e.Headers, e.Query, e.Body, reveal)
	size := len(e.Body)
	e.Headers, e.Query, e.Body = m.Header, m.Query, m.Body
	v := webhookView(e, true)
	v.Size = size // of the delivery as stored, not of the masked copy
	return v
}
