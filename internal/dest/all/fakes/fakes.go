// Package fakes lists the test double of every destination Hub ships (desttest.Double: its
// `hub fake-<platform>` command and its end-to-end golden run). cmd/hub's fake commands and its
// help, and internal/app's golden run, loop over it, so a new destination's fake is one line
// here and nothing in cmd or app. It is test support: production code never imports it.
package fakes

import (
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
)

// All returns every shipped destination's double, in the order `hub help` lists their commands.
func All() []desttest.Double {
	return []desttest.Double{
		fakemeta.Double,
		fakegoogleads.Double,
		fakega4.Double,
		faketiktok.Double,
		fakewebhook.Double,
	}
}

// Command returns the double whose command is name ("fake-meta").
func Command(name string) (desttest.Command, bool) {
	for _, d := range All() {
		if d.Command.Name == name {
			return d.Command, true
		}
	}
	return desttest.Command{}, false
}
