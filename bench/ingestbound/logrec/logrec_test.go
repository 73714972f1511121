package logrec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func sample(i int) store.Touchpoint {
	at := time.Date(2026, 12, 7, 21, 0, 0, 123456000, time.UTC).Add(time.Duration(i) * time.Second)
	return store.Touchpoint{
		ID: "tp" + strings.Repeat("x", i%7), TenantID: "t1", SourceID: "s1", Type: "lead", ClientEventID: "ev" + string(rune('a'+i%26)),
		OccurredAt: at, ReceivedAt: at.Add(time.Millisecond), URL: "https://shop.example/p?utm_source=fb",
		VisitorID: "k_v", FBCLID: "IwAR", GBRAID: "gb", FBC: "fb.1.1.IwAR", FBP: "fb.1.1.2", GASessions: "Q:1",
		UTM: store.UTM{Source: "facebook", Campaign: "c"},
		IP:  "198.18.0.1", UserAgent: "Mozilla/5.0", Consent: "granted",
		Signals:   store.ConsentSignals{AdUserData: "granted", Analytics: "denied"},
		EmailHash: strings.Repeat("a", 64), TikTokPhoneHash: "p", Bot: i%2 == 1,
		Props: json.RawMessage(`{"value":1}`),
	}
}

// Every field survives, across the rows Split makes of a large group.
func TestSplitDecode(t *testing.T) {
	var tps []store.Touchpoint
	for i := range 300 {
		tps = append(tps, sample(i))
	}
	rows := Split(tps)
	if len(rows) < 2 {
		t.Fatalf("300 touchpoints in %d rows, want several", len(rows))
	}
	var got []store.Touchpoint
	for _, r := range rows {
		if len(r) > MaxRow {
			t.Fatalf("a row of %d bytes, over %d", len(r), MaxRow)
		}
		d, err := Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d...)
	}
	if !reflect.DeepEqual(got, tps) {
		t.Fatalf("decoded touchpoints differ:\n%+v\n%+v", got[0], tps[0])
	}
}

func FuzzDecode(f *testing.F) {
	tp := sample(3)
	f.Add(Append(nil, &tp))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		tps, err := Decode(b)
		if err != nil {
			return
		}
		var again []byte
		for i := range tps {
			again = Append(again, &tps[i])
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("a decoded row does not decode again: %v", err)
		}
	})
}
