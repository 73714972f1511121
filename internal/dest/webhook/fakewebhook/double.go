package fakewebhook

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/webhook"
)

// Double is this fake as cmd/hub (`hub fake-webhook`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: webhook.Type,
	Command: desttest.Command{Name: "fake-webhook", Addr: "127.0.0.1:9995", Args: "[--secret whsec_...]",
		Usage: "a Standard Webhooks receiver that verifies the signature with the secret and records each webhook-id",
		Setup: setup},
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
