// Package all registers every destination Hub ships. The app calls Register once at start-up;
// adding a destination is one line here.
package all

import (
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
)

// Register adds every shipped destination to r, with default settings.
func Register(r *dest.Registry) {
	r.Register(meta.New())
}
