package intake_test

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// The buyer's birth date, gender and national id are kept, normalised by Meta's rules and
// hashed (db YYYYMMDD, ge f/m); raw values stay only in the inbox. The order's click ids are
// kept byte for byte.
func TestOrderEventKeepsBuyerDetailsAndClickIDs(t *testing.T) {
	t.Parallel()
	ev := webhook.OrderEvent{Provider: "perfectpay", EventID: "e", OrderID: "o", Status: domain.StatusPaid, NativeStatus: "2",
		Buyer:    webhook.Buyer{Email: "maria.teste@example.com", BirthDate: "20/05/1990", Gender: "Feminino", Document: "00000000191"},
		Tracking: webhook.Tracking{FBCLID: "IwAR_MixedCase", GCLID: "Cj0", GBRAID: "gb", WBRAID: "wb", TTCLID: "tt"}}
	oe := intake.OrderEvent(store.Source{TenantID: "t", ID: "s"}, store.InboxEntry{ID: "i", ReceivedAt: time.Now()}, ev)
	b := oe.Buyer
	if b.DateOfBirthHash != pii.SHA256Hex("19900520") {
		t.Errorf("db = %q, want SHA-256 of 19900520", b.DateOfBirthHash)
	}
	if b.GenderHash != pii.SHA256Hex("f") {
		t.Errorf("ge = %q, want SHA-256 of f", b.GenderHash)
	}
	if b.ExternalID != pii.SHA256Hex("00000000191") {
		t.Errorf("national id = %q, want SHA-256 of the digits", b.ExternalID)
	}
	if tr := oe.Tracking; tr.FBCLID != "IwAR_MixedCase" || tr.GCLID != "Cj0" || tr.GBRAID != "gb" || tr.WBRAID != "wb" || tr.TTCLID != "tt" {
		t.Errorf("click ids: %+v", tr)
	}
	// A date whose day and month order is ambiguous is left out, not guessed.
	ev.Buyer.BirthDate = "03/04/1990"
	if oe := intake.OrderEvent(store.Source{}, store.InboxEntry{ReceivedAt: time.Now()}, ev); oe.Buyer.DateOfBirthHash != "" {
		t.Errorf("ambiguous date hashed: %q", oe.Buyer.DateOfBirthHash)
	}
}
