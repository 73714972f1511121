package store

import (
	"context"
	"time"
)

// Alert kinds: the conditions package alert watches.
const (
	// AlertDestinationUnhealthy: a destination's health turned unhealthy (its last send was
	// refused for good: a revoked token, a wrong pixel id). Subject: the destination id.
	AlertDestinationUnhealthy = "destination_unhealthy"
	// AlertDeliveredShare: the share of a destination's purchases (of paid orders) delivered in
	// the recent window fell below the tenant's threshold. Subject: the destination id.
	AlertDeliveredShare = "delivered_share"
	// AlertGatewaySilent: a gateway that had sent webhooks to a source sent none for the
	// tenant's number of hours. Subject: "<source id>:<provider>".
	AlertGatewaySilent = "gateway_silent"
	// AlertSnippetSilent: the snippet of a source that had traffic reported no touchpoint for
	// the tenant's number of hours. Subject: the source id.
	AlertSnippetSilent = "snippet_silent"
)

// AlertKinds lists every kind, in the order the dashboard shows them.
var AlertKinds = []string{AlertDestinationUnhealthy, AlertDeliveredShare, AlertGatewaySilent, AlertSnippetSilent}

// Alert is one raised alert: open while ResolvedAt is nil. A tenant has at most one open alert
// per (Kind, Subject), so the same condition is raised once, whichever replica sees it first.
type Alert struct {
	ID       string
	TenantID string
	Kind     string
	// Subject names what the alert is about (see the kinds); SubjectName is its name for people
	// (a destination's or source's name, with the gateway) as it was when raised.
	Subject     string
	SubjectName string
	// Detail is what was measured when it was raised: the destination's reason, the delivered
	// share in percent, the time of the last webhook or touchpoint (RFC 3339).
	Detail     string
	RaisedAt   time.Time
	ResolvedAt *time.Time
}

// AlertFilter selects a tenant's alerts, newest first: open ones only with Open, else every
// alert; paged with After (an id) and Limit (default 100, at most 1000).
type AlertFilter struct {
	TenantID string
	Open     bool
	After    string
	Limit    int
}

// AlertSettings are a tenant's alert settings. Zero values mean the defaults (Default*).
type AlertSettings struct {
	// Off lists the kinds the tenant turned off.
	Off []string `json:"off,omitempty"`
	// DeliveredSharePercent is the threshold of AlertDeliveredShare (1..100).
	DeliveredSharePercent int `json:"delivered_share_percent,omitempty"`
	// WindowHours is the recent window the delivered share is measured over.
	WindowHours int `json:"window_hours,omitempty"`
	// GatewaySilentHours and SnippetSilentHours are the quiet hours before those alerts.
	GatewaySilentHours int `json:"gateway_silent_hours,omitempty"`
	SnippetSilentHours int `json:"snippet_silent_hours,omitempty"`
	// Recipients are the e-mail addresses alerts go to; empty: the tenant's enabled admins.
	Recipients []string `json:"recipients,omitempty"`
}

// Alert setting defaults.
const (
	DefaultDeliveredSharePercent = 90
	DefaultAlertWindowHours      = 24
	DefaultGatewaySilentHours    = 24
	DefaultSnippetSilentHours    = 24
)

// WithDefaults returns s with every zero threshold replaced by its default.
func (s AlertSettings) WithDefaults() AlertSettings {
	if s.DeliveredSharePercent <= 0 {
		s.DeliveredSharePercent = DefaultDeliveredSharePercent
	}
	if s.WindowHours <= 0 {
		s.WindowHours = DefaultAlertWindowHours
	}
	if s.GatewaySilentHours <= 0 {
		s.GatewaySilentHours = DefaultGatewaySilentHours
	}
	if s.SnippetSilentHours <= 0 {
		s.SnippetSilentHours = DefaultSnippetSilentHours
	}
	return s
}

// On reports whether the tenant left kind on.
func (s AlertSettings) On(kind string) bool {
	for _, k := range s.Off {
		if k == kind {
			return false
		}
	}
	return true
}

// AlertReader reads alerts and their settings.
type AlertReader interface {
	GetAlert(ctx context.Context, tenantID, id string) (Alert, error)
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// GetAlertSettings returns the tenant's settings (the zero value when never saved).
	GetAlertSettings(ctx context.Context, tenantID string) (AlertSettings, error)
}

// AlertWriter raises and resolves alerts. Both are conditional, so replicas evaluating the same
// condition at once change it once: only the caller whose call reports true notifies.
type AlertWriter interface {
	// RaiseAlert inserts a as open unless the tenant already has an open alert of the same kind
	// and subject; raised is false (and a unchanged) then.
	RaiseAlert(ctx context.Context, a Alert) (stored Alert, raised bool, err error)
	// ResolveAlert sets ResolvedAt on the open alert id; false when it was not open (resolved
	// already, by this or another replica).
	ResolveAlert(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
	// PutAlertSettings saves the tenant's settings.
	PutAlertSettings(ctx context.Context, tenantID string, s AlertSettings) error
}
