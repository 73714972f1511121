// Package fakes lists the test double of every destination Hub ships (desttest.Double: its
// `hub fake-<platform>` command and its end-to-end golden run). cmd/hub's fake commands and its
// help, and internal/app's golden run, loop over it. The list, All in fakes_gen.go, is
// generated from dest/all's registry (`go generate ./internal/dest/all/fakes`; the package's
// test fails while it is stale), so a new destination's double is its own fake<platform>
// package's Double and no line here, in cmd or in app. It is test support: production code
// never imports it.
package fakes

import "github.com/hubtrack/hub/internal/dest/desttest"

//go:generate go run gen.go

// Command returns the double whose command is name ("fake-meta").
func Command(name string) (desttest.Command, bool) {
	for _, d := range All() {
		if d.Command.Name == name {
			return d.Command, true
		}
	}
	return desttest.Command{}, false
}
