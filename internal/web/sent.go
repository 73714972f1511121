package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// sentWords says which identifiers a delivery carries to its platform, by name (never their
// values, which are hashes or personal data): "Identifiers the platform received: e-mail
// (hashed); …" once delivered, "Identifiers Hub sends the platform: …" before. The identifiers are the destination's declared ones (Spec) that
// the event Hub builds for the delivery holds; a national id only when the settings opt in.
func (u *UI) sentWords(ctx context.Context, l locale, d store.Delivery, ds store.Destination) (string, error) {
	if d.State == store.DeliverySkipped && d.Reason == store.ReasonErased {
		return "", nil // never sent: nothing about the erased person goes to the platform
	}
	impl, ok := u.cfg.Dests.Lookup(ds.Type)
	if !ok {
		return "", nil
	}
	ev, err := delivery.Event(ctx, u.cfg.Store, d)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // the order or the visit was erased: nothing left to name
	}
	if err != nil {
		return "", err
	}
	cfg := dest.Config{}
	if len(ds.Config) > 0 {
		_ = json.Unmarshal(ds.Config, &cfg) // a broken config is the destination's own problem, shown elsewhere
	}
	spec := impl.Spec()
	var names []string
	for _, id := range spec.Identifiers {
		if id == dest.IDNationalID && cfg.Get(spec, "send_national_id") != "true" {
			continue
		}
		if ev.User.Has(id) {
			names = append(names, l.T("ident."+string(id)))
		}
	}
	if len(names) == 0 {
		return l.T("order.sent_nothing"), nil
	}
	list := strings.Join(names, "; ")
	if d.State == store.DeliveryDelivered {
		return l.T("order.received", list), nil
	}
	return l.T("order.sends", list), nil
}
