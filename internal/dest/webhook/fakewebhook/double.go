package fakewebhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/webhook"
)

// Double is this fake as cmd/hub (`hub fake-webhook`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: webhook.Type,
	Command: desttest.Command{Name: "fake-webhook", Addr: "127.0.0.1:9995", Args: "[--secret whsec_...]",
		Usage: "a Standard Webhooks receiver that verifies the signature with the secret and records each webhook-id",
		Setup: setup},
	Golden: golden,
}

// golden is the webhook destination's end-to-end golden run: an ad click with an fbclid, a gclid
// and the _fbp cookie (without it Hub would make one up, a random one), and the order.paid messages the receiver accepted, each signed with the destination's
// secret (checked against Hub's clock) and read by its id.
func golden(at desttest.GoldenTimes) desttest.GoldenRun {
	fake := New()
	fake.now = func() time.Time { return at.Now }
	return desttest.GoldenRun{Fake: fake, Close: fake.Close,
		Destination: func(base string) (string, string) {
			return `{"url":"` + base + Path + `"}`, `{"signing_secret":"` + Secret + `"}`
		},
		Click: `"url":"https://loja.example.com.br/oferta?fbclid=IwAR2F4-dbP0&gclid=Cj0KCQjwHook&utm_source=facebook","fbclid":"IwAR2F4-dbP0",` +
			`"gclid":"Cj0KCQjwHook","fbp":"fb.1.1767632400000.1116446470","utm":{"source":"facebook","campaign":"lancamento"}`,
		Received: func() []desttest.Received {
			var out []desttest.Received
			for _, r := range fake.Requests() {
				var p struct {
					ID string `json:"id"`
				}
				if r.Status/100 == 2 && json.Unmarshal(r.Body, &p) == nil {
					out = append(out, desttest.Received{ID: p.ID, Raw: r.Body})
				}
			}
			return out
		},
		Dir: "internal/dest/webhook/testdata/e2e"}
}

// setup declares `hub fake-webhook`'s --secret, checked before it serves.
func setup(fs *flag.FlagSet) func(context.Context, string, io.Writer) error {
	secret := fs.String("secret", Secret, "the whsec_ signing secret of the webhook destination: the signature is verified with it")
	return func(ctx context.Context, addr string, out io.Writer) error {
		if key, ok := strings.CutPrefix(*secret, "whsec_"); !ok || len(key) == 0 {
			return errors.New("fake-webhook: --secret must be a whsec_ signing secret")
		} else if _, err := base64.StdEncoding.DecodeString(key); err != nil {
			return errors.New("fake-webhook: --secret must be whsec_ followed by standard base64")
		}
		fake := New()
		fake.SetSecrets(*secret)
		h := desttest.Controls{Name: "fakewebhook", Fake: fake, Counts: fake.Deliveries}
		return desttest.ListenAndServe(ctx, "fakewebhook", addr, h, func(at string) {
			fmt.Fprintf(out, "webhook receiver on http://%s%s (%s; counts are deliveries per webhook-id)\n", at, Path, desttest.ControlsText)
			fmt.Fprintf(out, "start Hub with HUB_EGRESS_ALLOW=%s and give the webhook destination url http://%s%s and this signing_secret\n", desttest.AllowOf(at), at, Path)
		})
	}
}
