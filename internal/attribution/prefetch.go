package attribution

import (
	"context"
	"slices"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Plan is the lookups Match(src, o) starts with: those whose arguments the order alone gives,
// built by the code the rules call the Finder with (each visitor id's touchpoints, the buyer's
// e-mail and phone, each click id's touchpoints, the buyer's network, and the orphan's check of
// its visitor ids). Run together (store.Reader.Lookups) and handed to Prefetched, they spare
// Match a round trip each: an orphan makes all of them one after another. Match stops at the
// first rule that matches, so it may use only some; the touchpoints of the visitors an e-mail
// or phone links, and the stitch's further links, depend on what these return and are not
// among them.
func Plan(src store.Source, o store.Order) []store.Lookup {
	m, at := newMatcher(nil, src, o)
	var ls []store.Lookup
	for _, vid := range visitorIDs(o) {
		ls = append(ls, m.visitorLookup(vid))
	}
	for _, id := range buyerIdentities(o) {
		ls = append(ls, m.identityLookup(id.kind, id.hash))
	}
	for _, c := range clickIDs(o) {
		ls = append(ls, m.clickLookup(c.kind, c.value))
	}
	if l, ok := m.networkLookup(o); ok {
		ls = append(ls, l)
	}
	for _, id := range knownIDs(o) {
		ls = append(ls, m.knownLookup(id, at))
	}
	return ls
}

// Prefetched is a Finder that answers a call whose arguments are those of one of ls (lookups
// store.Reader.Lookups ran, such as Plan's) with that lookup's result, and passes any other
// call to f. Match then returns what it returns with f, minus the round trips. It keeps nothing
// but ls: make one per match.
func Prefetched(f Finder, ls []store.Lookup) Finder {
	return &prefetched{f: f, ls: ls}
}

type prefetched struct {
	f  Finder
	ls []store.Lookup
}

// find returns the lookup that is the same read as l, or nil.
func (p *prefetched) find(l store.Lookup) *store.Lookup {
	for i := range p.ls {
		if p.ls[i].Same(&l) {
			return &p.ls[i]
		}
	}
	return nil
}

func (p *prefetched) TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	if l := p.find(store.Lookup{Kind: store.LookupTouchpointsByVisitor, TenantID: tenantID, VisitorID: visitorID, Since: since, Until: until, Limit: limit}); l != nil {
		return slices.Clone(l.Touchpoints), nil
	}
	return p.f.TouchpointsByVisitor(ctx, tenantID, visitorID, since, until, limit)
}

func (p *prefetched) AdClicksByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, oldestFirst bool, limit int) ([]store.Touchpoint, error) {
	return p.f.AdClicksByVisitor(ctx, tenantID, visitorID, since, until, oldestFirst, limit)
}

func (p *prefetched) TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	if l := p.find(store.Lookup{Kind: store.LookupTouchpointsByClickID, TenantID: tenantID, ClickKind: kind, ClickID: value, Since: since, Until: until, Limit: limit}); l != nil {
		return slices.Clone(l.Touchpoints), nil
	}
	return p.f.TouchpointsByClickID(ctx, tenantID, kind, value, since, until, limit)
}

func (p *prefetched) TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	if l := p.find(store.Lookup{Kind: store.LookupTouchpointsByNetwork, TenantID: tenantID, IP: ip, UserAgent: userAgent, Since: since, Until: until, Limit: limit}); l != nil {
		return slices.Clone(l.Touchpoints), nil
	}
	return p.f.TouchpointsByNetwork(ctx, tenantID, ip, userAgent, since, until, limit)
}

func (p *prefetched) VisitorsByIdentity(ctx context.Context, tenantID string, kind store.IdentityKind, hash string) ([]store.Identity, error) {
	if l := p.find(store.Lookup{Kind: store.LookupVisitorsByIdentity, TenantID: tenantID, IdentityKind: kind, Hash: hash}); l != nil {
		return slices.Clone(l.Identities), nil
	}
	return p.f.VisitorsByIdentity(ctx, tenantID, kind, hash)
}
