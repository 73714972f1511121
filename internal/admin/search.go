package admin

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// OrderSearch is what an operator or an integrator knows about an order: the gateway's order
// or transaction id, the buyer's e-mail or phone, or the visitor id the snippet set. The
// e-mail and phone are hashed here, with intake's normalisation, and never stored or logged.
type OrderSearch struct {
	ExternalID string
	Email      string
	Phone      string
	// PhoneCountry is the calling code tried for a phone written without one ("55"), as well
	// as the number as written (intake hashes the gateway's phone as the gateway sent it).
	PhoneCountry string
	VisitorID    string
}

// Empty reports whether nothing to search by was given.
func (s OrderSearch) Empty() bool {
	return strings.TrimSpace(s.ExternalID+s.Email+s.Phone+s.VisitorID) == ""
}

// Filter turns the search into a store filter of the tenant (every given field must match).
// An e-mail or phone that intake could not have hashed is a *ValidationError.
func (s OrderSearch) Filter(tenantID string) (store.OrderFilter, error) {
	f := store.OrderFilter{TenantID: tenantID, ExternalID: strings.TrimSpace(s.ExternalID), VisitorID: strings.TrimSpace(s.VisitorID)}
	var ve ValidationError
	if e := strings.TrimSpace(s.Email); e != "" {
		h, err := pii.HashEmail(e)
		if err != nil {
			ve.Add("email", "is not a valid e-mail address")
		}
		f.EmailHash = h
	}
	if ph := strings.TrimSpace(s.Phone); ph != "" {
		f.PhoneHashes = PhoneHashes(ph, s.PhoneCountry)
		if len(f.PhoneHashes) == 0 {
			ve.Add("phone", "is not a valid phone number (7 to 15 digits with the country code)")
		}
	}
	if len(ve.Fields) > 0 {
		return f, &ve
	}
	return f, nil
}

// PhoneHashes are the hashes a phone may have been stored under. Intake hashes a gateway's
// phone as the gateway wrote it (with its country code or without), so a number typed either
// way is searched both ways: as written, with countryCode in front of a national number, and
// without countryCode when it was written with it. A SHA-256 hex value is searched as is.
func PhoneHashes(raw, countryCode string) []string {
	if pii.IsSHA256Hex(raw) {
		h, _ := pii.HashPhone(raw, "")
		return []string{h}
	}
	var forms []string
	if n, err := domain.NormalizePhone(raw, ""); err == nil {
		forms = append(forms, n)
		cc := strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(countryCode), "+"), "0")
		if rest, ok := strings.CutPrefix(n, cc); ok && cc != "" && len(rest) >= 7 {
			forms = append(forms, rest)
		}
	}
	if n, err := domain.NormalizePhone(raw, countryCode); err == nil {
		forms = append(forms, n)
	}
	var out []string
	for _, f := range forms {
		if h := pii.SHA256Hex(f); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// OrderLister is the store read SearchOrders makes (store.Store is one).
type OrderLister interface {
	ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error)
}

// SearchOrders finds the orders one search box query may mean, newest first, at most limit:
// an e-mail or the gateway's order id when it has an @ (a WooCommerce order whose number
// another shop of the tenant used first is stored as "<id>@<site>"), otherwise the gateway's
// order id, the visitor id and, when it looks like a phone number, the phone.
func SearchOrders(ctx context.Context, st OrderLister, tenantID, q, phoneCountry string, limit int) ([]store.Order, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	var searches []OrderSearch
	if strings.Contains(q, "@") {
		searches = append(searches, OrderSearch{Email: q}, OrderSearch{ExternalID: q})
	} else {
		searches = append(searches, OrderSearch{ExternalID: q}, OrderSearch{VisitorID: q})
		if looksLikePhone(q) {
			searches = append(searches, OrderSearch{Phone: q, PhoneCountry: phoneCountry})
		}
	}
	seen := map[string]bool{}
	var out []store.Order
	for _, s := range searches {
		f, err := s.Filter(tenantID)
		if err != nil {
			continue // an unusable e-mail or phone finds nothing
		}
		f.Limit = limit
		os, err := st.ListOrders(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, o := range os {
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b store.Order) int { return strings.Compare(b.ID, a.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// looksLikePhone: digits with the usual separators, at least 8 digits.
func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case strings.ContainsRune("+()-. ", r):
		default:
			return false
		}
	}
	return digits >= 8
}
