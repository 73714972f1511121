package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// simulatePurchase is `hub simulate purchase`: the dashboard's "Send a test purchase" from a
// terminal. It reads the same settings as `hub serve` (DATABASE_URL or HUB_DATA_DIR,
// HUB_SECRET_KEY, HUB_PUBLIC_URL, PORT), posts the test purchase through the webhook
// endpoint's handler chain in this process (verification included), and waits for a running
// Hub to deliver it.
func simulatePurchase(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hub simulate purchase", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	gateway := fs.String("gateway", "", "the gateway whose delivery is simulated (hotmart, kiwify, stripe, ...)")
	sourceID := fs.String("source", "", "source id (default: the only source with the gateway enabled)")
	tenantID := fs.String("tenant", "", "tenant id (default: the source's)")
	wait := fs.Duration("wait", 20*time.Second, "how long to wait for the destinations' answers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "hub simulate purchase: send a signed test purchase through Hub's own webhook endpoint; its flags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("simulate purchase: %w", err)
	}
	adapters := webhookall.Default()
	if *gateway == "" {
		return fmt.Errorf("simulate purchase: --gateway is required: one of %s", strings.Join(adapters.Providers(), ", "))
	}
	if _, ok := adapters.Lookup(*gateway); !ok {
		return fmt.Errorf("simulate purchase: unknown --gateway %q: one of %s", *gateway, strings.Join(adapters.Providers(), ", "))
	}
	cfg, err := config.Load(getenv, nil, app.DeclaredSettings())
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	op, err := app.OpenOperator(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer op.Close()
	src, err := simulatedSource(ctx, op, *tenantID, *sourceID, *gateway)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	op.Intake.Register(mux)
	res, err := op.Admin.TestPurchase(ctx, admin.TestPurchaseInput{TenantID: src.TenantID, SourceID: src.ID, Provider: *gateway,
		Adapters: adapters, Dests: op.Dests, Public: httpx.Handler(mux, log, nil), Wait: *wait})
	if err != nil {
		return err
	}
	admin.Audit(ctx, op.Store, slog.New(slog.NewTextHandler(stderr, nil)), store.AuditEntry{TenantID: src.TenantID, Actor: cliActor(),
		Action: "source.test_purchase", Detail: fmt.Sprintf("source %s gateway %s order %s", src.ID, *gateway, res.Order.ID), At: time.Now().UTC()})
	return printTestPurchase(ctx, stdout, op, cfg, src, *gateway, res)
}

// simulatedSource finds the source: the one named, else the only one (of the tenant, when
// given) with the gateway enabled.
func simulatedSource(ctx context.Context, op *app.Operator, tenantID, sourceID, gateway string) (store.Source, error) {
	tenants := []string{tenantID}
	if tenantID == "" {
		ts, err := op.Store.ListTenants(ctx)
		if err != nil {
			return store.Source{}, err
		}
		tenants = tenants[:0]
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	}
	var found, enabled []store.Source
	for _, t := range tenants {
		srcs, err := op.Store.ListSources(ctx, t)
		if err != nil {
			return store.Source{}, err
		}
		for _, s := range srcs {
			if sourceID != "" {
				if s.ID == sourceID {
					found = append(found, s)
				}
				continue
			}
			toks, err := op.Admin.WebhookTokens(ctx, s)
			if err != nil {
				return store.Source{}, err
			}
			if toks[gateway] != "" {
				enabled = append(enabled, s)
			}
		}
	}
	switch {
	case sourceID != "" && len(found) == 0:
		return store.Source{}, fmt.Errorf("simulate purchase: no source %s", sourceID)
	case sourceID != "":
		return found[0], nil
	case len(enabled) == 1:
		return enabled[0], nil
	case len(enabled) == 0:
		return store.Source{}, fmt.Errorf("simulate purchase: no source has %s enabled: save its secret on a source first (dashboard: Setup > your source, or hub source create --secret %s=...)", gateway, gateway)
	}
	var names []string
	for _, s := range enabled {
		names = append(names, s.ID+" ("+s.Name+")")
	}
	return store.Source{}, fmt.Errorf("simulate purchase: %d sources have %s enabled; choose one with --source: %s", len(enabled), gateway, strings.Join(names, ", "))
}

func printTestPurchase(ctx context.Context, w io.Writer, op *app.Operator, cfg config.Config, src store.Source, gateway string, res admin.TestPurchaseResult) error {
	o := res.Order
	fmt.Fprintf(w, "test purchase sent as %s to source %s (%s) through Hub's webhook endpoint: accepted\n", gateway, src.ID, src.Name)
	fmt.Fprintf(w, "order %s: %s order %s, %s, %.2f %s, buyer %s (a test)\n", o.ID, gateway, o.ExternalID, o.Status,
		float64(o.AmountMinor)/100, o.Currency, webhook.TestBuyerEmail)
	a, err := op.Store.GetAttribution(ctx, o.TenantID, o.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintln(w, "match: not attributed yet")
	case err != nil:
		return err
	case a.TouchpointID == "":
		fmt.Fprintln(w, "match: none (an orphan): no visit of this source carries the test purchase's visitor id; open a page with the snippet first, then send another")
	default:
		fmt.Fprintf(w, "match: credited to visitor %s's visit (rule %s)", a.VisitorID, a.Rule)
		if tp, err := op.Store.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: o.TenantID, VisitorID: a.VisitorID, Limit: 1}); err == nil && len(tp) > 0 {
			u := tp[0].UTM
			if u.Source != "" || u.Campaign != "" {
				fmt.Fprintf(w, ", utm_source %q, utm_campaign %q", u.Source, u.Campaign)
			}
		}
		fmt.Fprintln(w)
	}
	if len(res.Deliveries) == 0 {
		fmt.Fprintln(w, "deliveries: none (no destination is set up for this event)")
	}
	dests, err := op.Store.ListDestinations(ctx, o.TenantID)
	if err != nil {
		return err
	}
	name := map[string]store.Destination{}
	for _, d := range dests {
		name[d.ID] = d
	}
	queued := false
	for _, d := range res.Deliveries {
		ds := name[d.DestinationID]
		line := fmt.Sprintf("delivery %s: %s to %s (%s): %s", d.ID, d.EventName, ds.Name, ds.Type, d.State)
		if d.Reason != "" {
			line += " (" + d.Reason + ")"
		}
		if d.State == store.DeliveryDelivered && ds.Type == "meta" {
			line += "; look for it in Meta Events Manager > your pixel > Test events"
		}
		queued = queued || d.State == store.DeliveryPending || d.State == store.DeliveryRetrying
		fmt.Fprintln(w, line)
	}
	if queued {
		fmt.Fprintln(w, "still queued: a running hub (hub serve, with the same settings) sends it")
	}
	fmt.Fprintf(w, "open it: %s/orders/%s\n", strings.TrimRight(cfg.PublicURL, "/"), o.ID)
	return nil
}
