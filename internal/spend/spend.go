// Package spend is the seam through which Hub imports what ads cost. Each ad platform is one
// Source (spend/meta, spend/googleads, spend/tiktok) that reads an ad account's identity and
// its daily cost per ad; the importer (which owns scheduling, back-off and storage) and the
// Campaigns report never see a platform's protocol.
//
// Money is in the ad account's currency, in millionths of its unit (SpendMicros), the way
// Google Ads reports cost; dates are the account's calendar days (YYYY-MM-DD in its time
// zone), as every platform reports them.
package spend

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Platform names an ad platform; the same words as the destination types.
type Platform string

const (
	Meta      Platform = "meta"
	GoogleAds Platform = "googleads"
	TikTok    Platform = "tiktok"
)

// Account is what a platform says about an ad account.
type Account struct {
	Platform Platform
	ID       string // the platform's id: Meta's digits without "act_", the Ads customer id, TikTok's advertiser id
	Name     string
	Currency string // ISO 4217
	TimeZone string // IANA, the zone the platform cuts the account's days in
	// Status is the platform's own word for the account's state (Meta's ACTIVE, DISABLED,
	// UNSETTLED...; Google's ENABLED, SUSPENDED...), for the tenant to read; empty when the
	// platform did not say. A Source does not refuse an inactive account: its past spend can
	// still be read.
	Status string
}

// Range is a span of the account's days, both ends included.
type Range struct {
	Since string // YYYY-MM-DD
	Until string // YYYY-MM-DD
}

// Row is the cost of one ad on one day, or of a whole campaign on one day when the platform
// reports the campaign only as a whole (a campaign-level row: AdSetID and AdID empty, keyed by
// CampaignID; Google's Performance Max, which has no ad groups).
type Row struct {
	Date         string // YYYY-MM-DD in the account's time zone
	CampaignID   string
	CampaignName string
	AdSetID      string // Meta's ad set, Google's ad group, TikTok's ad group; empty on a campaign-level row
	AdSetName    string
	AdID         string // Google Ads reports at ad-group level; there AdID is the ad group's id
	AdName       string
	SpendMicros  int64
	Impressions  int64
	Clicks       int64
}

// Source reads one platform. Credentials are the platform's own, as the tenant gave them (a
// JSON document each Source defines and validates); the caller keeps them sealed at rest.
type Source interface {
	Platform() Platform
	// Spec declares how an account of the platform is connected: the form's fields and their
	// words, and the checks of an account id and credentials (Spec.CheckAccountID,
	// Spec.CheckCredentials), which the Source's own reads apply too.
	Spec() Spec
	// Account reads the ad account's name, currency and time zone, and so checks that the
	// credentials can read it.
	Account(ctx context.Context, credentials []byte, accountID string) (Account, error)
	// Daily reads one Row per ad and day of r (an ad without spend on a day may be absent)
	// and hands them to emit page by page, in any order; it returns after the last page. A
	// Source splits r, pages and runs asynchronous reports as its platform needs. An error
	// from emit stops it and is returned. nil means the rows emitted are all of r's spend: the
	// importer then replaces r's days with them, so an ad absent from them has none. A read
	// that ended but may leave out rows the platform holds returns *IncompleteError; any other
	// error (*ThrottledError, *PermanentError, ordinary) means the read failed, and the caller
	// keeps nothing of it and reads the whole range again later.
	Daily(ctx context.Context, credentials []byte, accountID string, r Range, emit func([]Row) error) error
}

// ThrottledError says the platform asked Hub to slow down: no call for this account until
// RetryAfter has passed (the platform's own estimate when it gave one).
type ThrottledError struct {
	RetryAfter time.Duration
	Code       int    // the platform's error code (Meta's 4, 17, 613, 80000...), 0 when none
	Message    string // the platform's message, without secrets
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("spend: throttled (code %d) for %s: %s", e.Code, e.RetryAfter, e.Message)
}

// PermanentError says retrying will not help until the tenant acts: the token was revoked,
// lacks a permission, the account does not exist or was disabled.
type PermanentError struct {
	Code    int
	Message string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("spend: refused (code %d): %s", e.Code, e.Message)
}

// IncompleteError says Daily read its whole range, but the platform's answer may leave out
// rows it holds (it refused the filter that asks for deleted ads, so their spend is missing):
// the rows emitted are right, but an ad absent from them may still have spend, so they must
// not replace the range (the importer writes them and deletes nothing).
type IncompleteError struct {
	Reason string // why rows may be missing, without secrets
}

func (e *IncompleteError) Error() string {
	return "spend: the read may leave rows out: " + e.Reason
}

// Incomplete reports whether err is (or wraps) an *IncompleteError and returns it.
func Incomplete(err error) (*IncompleteError, bool) {
	var i *IncompleteError
	ok := errors.As(err, &i)
	return i, ok
}

// Throttled reports whether err is (or wraps) a *ThrottledError and returns it.
func Throttled(err error) (*ThrottledError, bool) {
	var t *ThrottledError
	ok := errors.As(err, &t)
	return t, ok
}

// Permanent reports whether err is (or wraps) a *PermanentError and returns it.
func Permanent(err error) (*PermanentError, bool) {
	var p *PermanentError
	ok := errors.As(err, &p)
	return p, ok
}
