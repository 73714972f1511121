package store

import "time"

// LookupKind names the Reader method a Lookup stands for.
type LookupKind string

const (
	LookupOrderByExternalID    LookupKind = "order_by_external_id"   // GetOrderByExternalID
	LookupTouchpointsByVisitor LookupKind = "touchpoints_by_visitor" // TouchpointsByVisitor
	LookupTouchpointsByClickID LookupKind = "touchpoints_by_click_id"
	LookupTouchpointsByNetwork LookupKind = "touchpoints_by_network"
	LookupVisitorsByIdentity   LookupKind = "visitors_by_identity"
)

// Lookup is one indexed read, with the arguments of the Reader method its Kind names (the
// fields that method takes; the others stay empty) and, once Reader.Lookups ran it, that
// method's result: Touchpoints, Identities, or Order (nil when GetOrderByExternalID would say
// ErrNotFound).
type Lookup struct {
	Kind     LookupKind
	TenantID string

	VisitorID            string       // TouchpointsByVisitor
	ClickKind            ClickKind    // TouchpointsByClickID
	ClickID              string       // TouchpointsByClickID
	IP, UserAgent        string       // TouchpointsByNetwork
	IdentityKind         IdentityKind // VisitorsByIdentity
	Hash                 string       // VisitorsByIdentity
	Provider, ExternalID string       // GetOrderByExternalID
	Since, Until         time.Time    // the touchpoint lookups
	Limit                int          // the touchpoint lookups

	Touchpoints []Touchpoint
	Identities  []Identity
	Order       *Order
}

// Same reports whether l and m are the same read: the same kind and arguments (times as
// instants), whatever their results.
func (l *Lookup) Same(m *Lookup) bool {
	return l.Kind == m.Kind && l.TenantID == m.TenantID && l.VisitorID == m.VisitorID &&
		l.ClickKind == m.ClickKind && l.ClickID == m.ClickID && l.IP == m.IP && l.UserAgent == m.UserAgent &&
		l.IdentityKind == m.IdentityKind && l.Hash == m.Hash && l.Provider == m.Provider && l.ExternalID == m.ExternalID &&
		l.Since.Equal(m.Since) && l.Until.Equal(m.Until) && l.Limit == m.Limit
}
