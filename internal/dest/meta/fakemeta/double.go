package fakemeta

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
)

// Double is this fake as cmd/hub (`hub fake-meta`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: meta.Type,
	Command: desttest.Command{Name: "fake-meta", Addr: "127.0.0.1:9999", Usage: "a fake Graph API for local tries and tests",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
	Golden: golden,
}

// golden is Meta's end-to-end golden run: an ad click with an fbclid and the _fbc and _fbp
// cookies, and the server events the fake Graph API accepted.
func golden(at desttest.GoldenTimes) desttest.GoldenRun {
	fake := New()
	fake.Now = func() time.Time { return at.Now }
	return desttest.GoldenRun{Fake: fake, Close: fake.Close, Setting: Points,
		Destination: func(string) (string, string) { return `{"pixel_id":"123456789"}`, `{"access_token":"EAAtesttoken"}` },
		Click: `"url":"https://loja.example.com.br/oferta?fbclid=IwAR2F4-dbP0&utm_source=facebook","fbclid":"IwAR2F4-dbP0",` +
			`"fbc":"fb.1.1767632400000.IwAR2F4-dbP0","fbp":"fb.1.1767632400000.1116446470","utm":{"source":"facebook","campaign":"lancamento"}`,
		Received: func() []desttest.Received {
			var out []desttest.Received
			for _, ev := range fake.Events() {
				out = append(out, desttest.Received{ID: ev.EventID, Raw: ev.Raw})
			}
			return out
		},
		Dir: "internal/dest/meta/testdata/e2e"}
}

// serve is `hub fake-meta`: it names the controls it serves itself (ServeHTTP), which predate
// desttest.Controls and answer Meta's own event shape.
func serve(ctx context.Context, addr string, out io.Writer) error {
	fmt.Fprintf(out, "fake Meta Graph API on http://%s (faults: POST /_fake/faults, events: GET /_fake/events)\n", addr)
	desttest.PrintEnv(out, Points, addr)
	return ListenAndServe(ctx, addr)
}
