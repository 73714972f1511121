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
		Tracking: webhook.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "IwAR_MixedCase", GCLID: "Cj0", GBRAID: "gb", WBRAID: "wb", TTCLID: "tt"}}}
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

// Google's and TikTok's hashes are computed at intake from the raw e-mail and phone, by their
// own rules, beside Meta's; the vectors are the protocol reference's (destinations notes §1.4
// and §3.3).
func TestOrderEventHashesForGoogleAndTikTok(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, email, phone                   string
		em, emGoogle, ph, phGoogle, phTikTok string
	}{
		{name: "reference vectors, Google", email: "jane.doe@example.com", phone: "+5511987654321",
			em:       "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d",
			emGoogle: "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d",
			ph:       pii.SHA256Hex("5511987654321"),
			phGoogle: "38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441",
			phTikTok: "38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441"},
		{name: "reference vectors, TikTok", email: " ALICE_abc@gmail.com ", phone: "(+1)2133734253",
			em:       "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f", // TikTok's e-mail rule is Meta's
			emGoogle: pii.SHA256Hex("alice_abc@gmail.com"),
			ph:       pii.SHA256Hex("12133734253"),
			phGoogle: "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd",
			phTikTok: "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"},
		{name: "gmail dots and tag are Google's alone", email: "Jane.Doe+promo@Gmail.com", phone: "5511999998888",
			em:       pii.SHA256Hex("jane.doe+promo@gmail.com"),
			emGoogle: pii.SHA256Hex("janedoe@gmail.com"),
			ph:       "b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e",
			phGoogle: "6ff01b83d6cd5a652fbd5730a4aa124c3ca8f7e65c805f3323fea3e726d93678",
			phTikTok: "6ff01b83d6cd5a652fbd5730a4aa124c3ca8f7e65c805f3323fea3e726d93678"},
		{name: "a hashed phone is not re-normalised", phone: "38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441",
			ph: "38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441"},
		{name: "bad values are left out", email: "not an address", phone: "123"},
	}
	for _, tt := range tests {
		ev := webhook.OrderEvent{Provider: "hotmart", EventID: "e", OrderID: "o", Status: domain.StatusPaid,
			Buyer: webhook.Buyer{Email: tt.email, Phone: tt.phone}}
		b := intake.OrderEvent(store.Source{TenantID: "t", ID: "s"}, store.InboxEntry{ID: "i", ReceivedAt: time.Now()}, ev).Buyer
		got := [5]string{b.EmailHash, b.GoogleEmailHash, b.PhoneHash, b.GooglePhoneHash, b.TikTokPhoneHash}
		want := [5]string{tt.em, tt.emGoogle, tt.ph, tt.phGoogle, tt.phTikTok}
		if got != want {
			t.Errorf("%s:\n got  em %q em_google %q ph %q ph_google %q ph_tiktok %q\n want em %q em_google %q ph %q ph_google %q ph_tiktok %q",
				tt.name, got[0], got[1], got[2], got[3], got[4], want[0], want[1], want[2], want[3], want[4])
		}
	}
}

// Google's address identifier is kept at intake beside Meta's hashes: the names hashed by
// Google's rule (the reference request's vectors), the postal code trimmed and the region code
// uppercase ISO alpha-2, both unhashed; each only when the gateway sent it.
func TestOrderEventKeepsGoogleAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		buyer webhook.Buyer
		want  [4]string // fn_google, ln_google, zp_google, country_google
	}{
		{name: "reference vectors", buyer: webhook.Buyer{FirstName: " Jane ", LastName: "Doe Jr.", Address: webhook.Address{Zip: " 01310-100 ", Country: "br"}},
			want: [4]string{"81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2", "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f", "01310-100", "BR"}},
		{name: "full name split", buyer: webhook.Buyer{Name: "Jane Doe"},
			want: [4]string{"81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2", "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f", "", ""}},
		{name: "a country name is not a region code", buyer: webhook.Buyer{Address: webhook.Address{Country: "Brasil"}}},
		{name: "nothing sent"},
	}
	for _, tt := range tests {
		ev := webhook.OrderEvent{Provider: "hotmart", EventID: "e", OrderID: "o", Status: domain.StatusPaid, Buyer: tt.buyer}
		b := intake.OrderEvent(store.Source{TenantID: "t", ID: "s"}, store.InboxEntry{ID: "i", ReceivedAt: time.Now()}, ev).Buyer
		if got := [4]string{b.GoogleFirstNameHash, b.GoogleLastNameHash, b.GooglePostalCode, b.GoogleRegionCode}; got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
