// Package all registers every destination Hub ships. The app calls Register once at start-up;
// adding a destination is one line here (and its import), then `go generate
// ./internal/dest/all/fakes`, which lists the destination's double (its fake<type> package's
// Double) from Register, in its order: the order of `hub help`'s fake commands.
package all

import (
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/ga4"
	"github.com/hubtrack/hub/internal/dest/googleads"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/tiktok"
	"github.com/hubtrack/hub/internal/dest/webhook"
)

// Register adds every shipped destination to r, each constructed with the operator's env
// (outbound client, clock, its operator settings such as HUB_META_GRAPH_URL).
func Register(r *dest.Registry, env dest.Env) {
	r.Register(meta.New(env))
	r.Register(webhook.New(env))
	r.Register(googleads.New(env))
	r.Register(tiktok.New(env))
	r.Register(ga4.New(env))
}
