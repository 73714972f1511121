package ingest

import (
	"context"
	"fmt"

	"github.com/hubtrack/hub/internal/store"
)

// IdentityKey is the cache key under which Hub versions before the hot index's removal kept the
// visitor of a hashed e-mail or phone, for 30 days (docs/architecture.md §5a). Nothing writes it
// now; an erasure still deletes it, so that a person's hashes written by an earlier version do
// not outlive their erasure in the cache.
func IdentityKey(tenantID string, kind store.IdentityKind, hash string) string {
	return "hub:id:" + tenantID + ":" + string(kind) + ":" + hash
}

// KeyDeleter is the part of the cache that ForgetIdentities needs.
type KeyDeleter interface {
	Delete(ctx context.Context, key string) error
}

// ForgetIdentities deletes the identity keys (IdentityKey: hashed e-mail or phone -> visitor) of
// erased identifiers that an earlier version may have left in the cache.
func ForgetIdentities(ctx context.Context, c KeyDeleter, tenantID string, hashes []store.IdentityHash) error {
	for _, h := range hashes {
		if err := c.Delete(ctx, IdentityKey(tenantID, h.Kind, h.Hash)); err != nil {
			return fmt.Errorf("ingest: forget identity: %w", err)
		}
	}
	return nil
}
