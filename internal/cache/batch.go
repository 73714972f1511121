package cache

import (
	"context"
)

// Publication is one event of a PublishMany batch: what Publish(ctx, Stream, Event, MaxLen)
// would append.
type Publication struct {
	Stream string
	Event  []byte
	MaxLen int
}

// BatchPublisher is implemented by backends that can append many stream events in one round
// trip (Redis pipelines them); PublishMany falls back to one Publish each elsewhere.
type BatchPublisher interface {
	PublishMany(ctx context.Context, ps []Publication) error
}

// Publisher is the part of Cache a batch of stream events needs.
type Publisher interface {
	Publish(ctx context.Context, stream string, event []byte, maxLen int) (string, error)
}

// PublishMany appends ps in order, each to its stream as Publish would: in one round trip when
// c is a BatchPublisher, else one call each. It is not atomic: on an error some events may
// have been appended (fine for a live stream, which can always be lost).
func PublishMany(ctx context.Context, c Publisher, ps []Publication) error {
	if b, ok := c.(BatchPublisher); ok {
		return b.PublishMany(ctx, ps)
	}
	for _, p := range ps {
		if _, err := c.Publish(ctx, p.Stream, p.Event, p.MaxLen); err != nil {
			return err
		}
	}
	return nil
}

// PublishMany implements BatchPublisher: the primary's batch, or the secondary's while degraded.
func (f *Fallback) PublishMany(ctx context.Context, ps []Publication) error {
	return do0(f, func(c Cache) error { return PublishMany(ctx, c, ps) })
}

// Got is one key's answer in a GetMany batch: as Get's val and ok.
type Got struct {
	Val []byte
	OK  bool
}

// BatchGetter is implemented by backends that can read many string keys in one round trip
// (Redis pipelines the GETs); GetMany falls back to one Get each elsewhere.
type BatchGetter interface {
	GetMany(ctx context.Context, keys []string) ([]Got, error)
}

// Getter is the part of Cache a batch of reads needs.
type Getter interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
}

// GetMany reads keys as Get would, one answer per key in order: in one round trip when c is a
// BatchGetter, else one call each. Like Gets one after another, it is not a snapshot.
func GetMany(ctx context.Context, c Getter, keys []string) ([]Got, error) {
	if b, ok := c.(BatchGetter); ok {
		return b.GetMany(ctx, keys)
	}
	out := make([]Got, len(keys))
	for i, k := range keys {
		v, ok, err := c.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out[i] = Got{Val: v, OK: ok}
	}
	return out, nil
}

// GetMany implements BatchGetter: the primary's batch, or the secondary's while degraded.
func (f *Fallback) GetMany(ctx context.Context, keys []string) ([]Got, error) {
	return do(f, func(c Cache) ([]Got, error) { return GetMany(ctx, c, keys) })
}
