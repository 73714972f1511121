package webhook

import (
	"fmt"
	"sort"
	"sync"
)

// Registry maps provider names to adapters. Adapters are registered explicitly at start-up
// (see package webhook/all); there is no init-time self-registration. The zero value is ready to
// use, and a Registry is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	adapters map[string]Adapter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds a. Registering two adapters for one provider, or one with an empty name, is a
// programming error and panics, as http.Handle does.
func (r *Registry) Register(a Adapter) {
	name := a.Provider()
	if name == "" {
		panic("webhook: Register of an adapter with an empty provider name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adapters == nil {
		r.adapters = make(map[string]Adapter)
	}
	if _, dup := r.adapters[name]; dup {
		panic(fmt.Sprintf("webhook: Register called twice for provider %q", name))
	}
	r.adapters[name] = a
}

// Lookup returns the adapter for provider (the {provider} segment of the webhook URL).
func (r *Registry) Lookup(provider string) (Adapter, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.adapters[provider]
	return a, ok
}

// Providers returns the registered provider names, sorted.
func (r *Registry) Providers() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.adapters))
	for name := range r.adapters {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
