package dest

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Registry maps destination types to implementations. Destinations are registered explicitly
// at start-up (see dest/all), never from init functions.
type Registry struct {
	mu    sync.RWMutex
	dests map[string]Destination
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{dests: make(map[string]Destination)} }

// Register adds d. It panics on an empty or duplicate type: that is a wiring bug found at start.
func (r *Registry) Register(d Destination) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := d.Type()
	if t == "" {
		panic("dest: Register: empty destination type")
	}
	if _, dup := r.dests[t]; dup {
		panic(fmt.Sprintf("dest: Register: destination %q registered twice", t))
	}
	r.dests[t] = d
}

// Lookup returns the destination of type t.
func (r *Registry) Lookup(t string) (Destination, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.dests[t]
	return d, ok
}

// Types returns the registered types, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.dests))
}

// Specs returns every registered destination's spec, sorted by type.
func (r *Registry) Specs() []Spec {
	types := r.Types()
	specs := make([]Spec, 0, len(types))
	for _, t := range types {
		d, _ := r.Lookup(t)
		specs = append(specs, d.Spec())
	}
	return specs
}

// Onboarding returns every registered destination's spec in the setup page's order:
// Spec.Onboarding, lowest first, those without one (0) last, then by type.
func (r *Registry) Onboarding() []Spec {
	specs := r.Specs()
	rank := func(s Spec) int {
		if s.Onboarding == 0 {
			return math.MaxInt
		}
		return s.Onboarding
	}
	slices.SortStableFunc(specs, func(a, b Spec) int { return cmp.Compare(rank(a), rank(b)) })
	return specs
}

// MaxTimeout is the longest Spec().Timeout of the registered destinations, 0 when none sets one.
func (r *Registry) MaxTimeout() time.Duration {
	var m time.Duration
	for _, s := range r.Specs() {
		m = max(m, s.Timeout)
	}
	return m
}
