package delivery

import "github.com/hubtrack/hub/internal/dest"

// keysOf is the identifier keys the sender put in ev's payload, for the delivery row (nil when
// the destination does not report them).
func keysOf(s dest.Sender, ev dest.Event) *int64 {
	kr, ok := s.(dest.KeyReporter)
	if !ok {
		return nil
	}
	k, ok := kr.KeysOf(ev)
	if !ok {
		return nil
	}
	v := int64(k)
	return &v
}
