package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// Reseal is what ResealSecrets did.
type Reseal struct {
	Checked  int // secrets read
	Resealed int // re-encrypted under the primary key
	// Changed were replaced by someone else between the read and the write; they are left as
	// that writer sealed them.
	Changed int
	// Unopened are secrets no key of the ring opens, by where they are; they are left as they
	// are, and the key that sealed them must not be dropped.
	Unopened []string
}

// ResealSecrets re-encrypts every gateway secret, destination credential and ad account
// credential that is not sealed under the keyring's primary key, so that the older keys can
// then be removed from HUB_SECRET_KEY. Each write happens only if the secret is still what was read, so a change
// made meanwhile (through the API or the dashboard) is never undone. Run it once every replica
// has the new key first in its HUB_SECRET_KEY, or a replica still sealing under the old key
// could write new secrets under it afterwards.
func (s *Service) ResealSecrets(ctx context.Context) (Reseal, error) {
	var r Reseal
	tenants, err := s.Store.ListTenants(ctx)
	if err != nil {
		return r, fmt.Errorf("admin: reseal: %w", err)
	}
	for _, t := range tenants {
		sources, err := s.Store.ListSources(ctx, t.ID)
		if err != nil {
			return r, fmt.Errorf("admin: reseal: %w", err)
		}
		for _, src := range sources {
			secrets, err := s.Store.ListGatewaySecrets(ctx, t.ID, src.ID)
			if err != nil {
				return r, fmt.Errorf("admin: reseal: %w", err)
			}
			for _, gs := range secrets {
				where := fmt.Sprintf("%s secret of source %s (tenant %s)", gs.Provider, src.ID, t.ID)
				err := s.reseal(&r, where, gs.Ciphertext, store.GatewaySecretAD(src.ID, gs.Provider), func(next string) (bool, error) {
					defer s.sourceChanged()
					return s.Store.SwapGatewaySecret(ctx, t.ID, src.ID, gs.Provider, gs.Ciphertext, next)
				})
				if err != nil {
					return r, err
				}
			}
		}
		dests, err := s.Store.ListDestinations(ctx, t.ID)
		if err != nil {
			return r, fmt.Errorf("admin: reseal: %w", err)
		}
		for _, d := range dests {
			if d.Credentials == "" {
				continue
			}
			where := fmt.Sprintf("credentials of destination %s (tenant %s)", d.ID, t.ID)
			err := s.reseal(&r, where, d.Credentials, store.CredentialsAD(d.ID), func(next string) (bool, error) {
				return s.Store.SwapDestinationCredentials(ctx, t.ID, d.ID, d.Credentials, next)
			})
			if err != nil {
				return r, err
			}
		}
		accounts, err := s.Store.ListAdAccounts(ctx, t.ID)
		if err != nil {
			return r, fmt.Errorf("admin: reseal: %w", err)
		}
		for _, a := range accounts {
			where := fmt.Sprintf("credentials of ad account %s (tenant %s)", a.ID, t.ID)
			err := s.reseal(&r, where, a.Credentials, store.AdAccountCredentialsAD(a.ID), func(next string) (bool, error) {
				return s.Store.SwapAdAccountCredentials(ctx, t.ID, a.ID, a.Credentials, next)
			})
			if err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// reseal re-encrypts one secret under the primary key when it needs it, through swap.
func (s *Service) reseal(r *Reseal, where, ciphertext string, ad []byte, swap func(next string) (bool, error)) error {
	r.Checked++
	if !s.Keys.NeedsRotation(ciphertext) {
		return nil
	}
	plain, err := s.Keys.Open(ciphertext, ad)
	if errors.Is(err, pii.ErrDecrypt) || errors.Is(err, pii.ErrUnknownKey) {
		r.Unopened = append(r.Unopened, where)
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin: reseal %s: %w", where, err)
	}
	next, err := s.Keys.Seal(plain, ad)
	if err != nil {
		return fmt.Errorf("admin: reseal %s: %w", where, err)
	}
	swapped, err := swap(next)
	if err != nil {
		return fmt.Errorf("admin: reseal %s: %w", where, err)
	}
	if swapped {
		r.Resealed++
	} else {
		r.Changed++
	}
	return nil
}
