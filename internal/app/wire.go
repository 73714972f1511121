package app

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// Destinations is the explicit registry of destinations, configured from Hub's settings.
func (a *App) destinations() *dest.Registry {
	r := dest.NewRegistry()
	m := meta.New()
	m.HubVersion = Version
	r.Register(m)
	return r
}

// wire builds the services behind the public endpoints and registers their routes and workers.
func (a *App) wire() error {
	a.Dests = a.destinations()
	ing, err := ingest.New(ingest.Config{
		Store: a.Store, Cache: a.Cache, Limiter: a.Cache, TrustedProxies: a.Config.TrustedProxies, Logger: a.Log,
	})
	if err != nil {
		return err
	}
	ing.Register(a.mux)
	a.closers = append(a.closers, ing.Close)

	a.Intake = &intake.Service{Store: a.Store, Adapters: webhookall.Default(), Keys: a.Keys, Log: a.Log}
	a.Intake.Register(a.mux)
	river.AddWorker(a.workers, &intake.ProcessWorker{Service: a.Intake})

	apiVersion, graphURL := a.Config.MetaAPIVersion, a.Config.MetaGraphURL
	river.AddWorker(a.workers, delivery.NewWorker(delivery.Worker{
		Store: a.Store, Dests: a.Dests, Keys: a.Keys, Log: a.Log,
		Breaker: &delivery.Breaker{Cache: a.Cache, Threshold: 5, Window: time.Minute, Cooldown: 15 * time.Second},
		Overrides: func(d store.Destination, cfg dest.Config) {
			// A destination's own settings win; Hub's configuration fills the gaps.
			if d.Type == meta.Type && cfg[meta.SettingAPIVersion] == "" && apiVersion != "" {
				cfg[meta.SettingAPIVersion] = apiVersion
			}
			if d.Type == meta.Type && cfg[meta.SettingGraphURL] == "" && graphURL != "" {
				cfg[meta.SettingGraphURL] = graphURL
			}
		},
	}, 20*time.Millisecond))
	return nil
}
