package faketiktok

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/tiktok"
)

// Double is this fake as cmd/hub (`hub fake-tiktok`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: tiktok.Type,
	Command: desttest.Command{Name: "fake-tiktok", Addr: "127.0.0.1:9996", Usage: "a fake TikTok Events API",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
	Golden: golden,
}

// golden is TikTok's end-to-end golden run: an ad click with a ttclid, the _ttp cookie and
// TikTok as referrer, and the events the fake accepted, each for the test pixel as a Purchase.
func golden(desttest.GoldenTimes) desttest.GoldenRun {
	fake := New()
	return desttest.GoldenRun{Fake: fake, Close: fake.Close, Setting: Points,
		Destination: func(string) (string, string) {
			return `{"pixel_code":"CFAKE0PIXEL0CODE0001"}`, `{"access_token":"tttesttoken"}`
		},
		Click: `"url":"https://loja.example.com.br/oferta?ttclid=E.C.P.abc123&utm_source=tiktok","referrer":"https://www.tiktok.com/",` +
			`"ttclid":"E.C.P.abc123","ttp":"2Q3aTTPcookie","utm":{"source":"tiktok","campaign":"lancamento"}`,
		Received: func() []desttest.Received {
			var out []desttest.Received
			for _, ev := range fake.Events() {
				out = append(out, desttest.Received{ID: ev.EventID, Raw: ev.Raw})
			}
			return out
		},
		Check: func() error {
			var errs []error
			for _, ev := range fake.Events() {
				if ev.PixelCode != "CFAKE0PIXEL0CODE0001" || ev.Event != "Purchase" {
					errs = append(errs, fmt.Errorf("%s: pixel %q, event %q", ev.EventID, ev.PixelCode, ev.Event))
				}
			}
			return errors.Join(errs...)
		},
		Dir: "internal/dest/tiktok/testdata/e2e"}
}

// serve is `hub fake-tiktok`.
func serve(ctx context.Context, addr string, out io.Writer) error {
	h := desttest.Controls{Name: "faketiktok", Fake: New()}
	return desttest.ListenAndServe(ctx, "faketiktok", addr, h, func(at string) {
		fmt.Fprintf(out, "fake TikTok Events API on http://%s (%s)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
	})
}
