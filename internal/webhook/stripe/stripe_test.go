package stripe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	webhooktest.Run(t, Adapter{}, "testdata")
}

func FuzzParseStripe(f *testing.F) {
	webhooktest.Fuzz(f, Adapter{}, "testdata")
}

// TestMaskWrittenOutCases: the masked view of every delivery the cases write out (an invoice
// names its customer in fields of its own, not in customer_details) shows none of the buyer's
// data.
func TestMaskWrittenOutCases(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []webhooktest.Case
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Body == nil || !json.Valid([]byte(*c.Body)) {
			continue
		}
		masked := string(webhook.MaskBody([]byte(*c.Body), "application/json", spec.Sensitive, false))
		for _, v := range webhooktest.FixturePII {
			if webhooktest.Shows(masked, v) {
				t.Errorf("%s: the masked view shows %q:\n%s", c.Name, v, masked)
			}
		}
	}
}
