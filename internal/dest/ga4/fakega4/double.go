package fakega4

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/ga4"
)

// Double is this fake as cmd/hub (`hub fake-ga4`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: ga4.Type,
	Command: desttest.Command{Name: "fake-ga4", Addr: "127.0.0.1:9997", Usage: "a fake GA4 Measurement Protocol",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
	Golden: golden,
}

// golden is GA4's end-to-end golden run: a Google ad click on a page where gtag had set _ga and
// the stream's _ga_QEHZPBE5HH (a session started at the click), and the requests the fake
// recorded: each purchase with the visitor's client id, in the visitor's session, none dropped
// (GA4 answers 204 to a dropped one all the same).
func golden(at desttest.GoldenTimes) desttest.GoldenRun {
	fake := New()
	fake.Secret = "ga4-e2e-secret"
	fake.Now = func() time.Time { return at.Now }
	session := fmt.Sprint(at.Click.Unix())
	return desttest.GoldenRun{Fake: fake, Close: fake.Close, Setting: Points,
		Destination: func(string) (string, string) {
			return `{"measurement_id":"G-QEHZPBE5HH"}`, `{"api_secret":"ga4-e2e-secret"}`
		},
		Click: `"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwga4e2e&utm_source=google","gclid":"Cj0KCQjwga4e2e",` +
			`"ga_client_id":"1958185836.1757409569","ga_sessions":"QEHZPBE5HH:` + session + `","utm":{"source":"google","campaign":"lancamento"}`,
		Received: func() []desttest.Received {
			var out []desttest.Received
			for _, ev := range fake.Events() {
				out = append(out, desttest.Received{ID: ev.TransactionID, Raw: ev.Raw})
			}
			return out
		},
		Keys: SentKeys,
		Check: func() error {
			var errs []error
			if d := fake.Dropped(); len(d) != 0 {
				errs = append(errs, fmt.Errorf("GA4 dropped requests (a 204 all the same): %+v", d))
			}
			for _, ev := range fake.Events() {
				if ev.MeasurementID != "G-QEHZPBE5HH" || ev.Name != "purchase" || ev.ClientID != "1958185836.1757409569" || ev.SessionID != session {
					errs = append(errs, fmt.Errorf("%s: measurement %q, event %q, client %q, session %q", ev.TransactionID, ev.MeasurementID, ev.Name, ev.ClientID, ev.SessionID))
				}
			}
			return errors.Join(errs...)
		},
		Dir: "internal/dest/ga4/testdata/e2e"}
}

// serve is `hub fake-ga4`.
func serve(ctx context.Context, addr string, out io.Writer) error {
	h := desttest.Controls{Name: "fakega4", Fake: New()}
	return desttest.ListenAndServe(ctx, "fakega4", addr, h, func(at string) {
		fmt.Fprintf(out, "fake GA4 Measurement Protocol on http://%s (%s; GA4 answers 204 to everything, so /_fake/events is the only way to see what it recorded)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
	})
}
