// Command hub is Hub's one binary: the server (the default), migrations, the container health
// check and the operator commands that bootstrap a tenant without any UI.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest/all/fakes"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/obs"
	"github.com/hubtrack/hub/internal/store"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

const usage = `hub — server-side conversion tracking

Usage:
  hub [serve] [flags]        run the server (default); its flags are listed below
  hub migrate                apply database migrations and exit
  hub healthcheck            exit 0 when the local server answers /healthz
  hub version                print the version
  hub tenant create --name N
  hub apikey create --tenant T [--role admin|read_only|operator] [--name N]
  hub apikey revoke --tenant T --id K
  hub source create --tenant T --name N [--origin URL]... [--secret provider=secret]...
                    [--window 168h] [--model last_click|first_click] [--cookie-domain D]
  hub source rotate-token --tenant T --source S --provider P
                    new webhook URL for one gateway (the old one stops at once; enables Appmax)
  hub destination add --tenant T --type meta --config JSON [--credentials JSON] [--name N]
  hub link create --tenant T --source S --target URL
  hub webhooks reprocess [--tenant T] [--id INBOX_ID]   reprocess unparseable webhooks
  hub deliveries replay --tenant T (--id D [--force] | --destination D | --since T --until T)
  hub secrets reseal                 after a key rotation, re-seal every secret under the first key
  hub simulate purchase --gateway G [--source S] [--tenant T] [--wait 20s]
                    send a signed test purchase through Hub's own webhook endpoint, as the
                    gateway would (buyer teste@hub.invalid), and print its order, its match
                    and what each destination received
%s
Configuration comes from the environment or from flags (flags win); the operator commands use
the same settings as the server (DATABASE_URL, HUB_DATA_DIR, HUB_SECRET_KEY, HUB_PUBLIC_URL, PORT).
'hub <command> -h' lists a command's own flags.

Settings (flag, environment variable, default):
`

// printHelp writes the commands and every setting with its variable and default.
func printHelp(w io.Writer) {
	var cmds strings.Builder
	for _, d := range fakes.All() {
		cmds.WriteString(d.Command.Help())
	}
	fmt.Fprintf(w, usage, cmds.String())
	fmt.Fprint(w, config.Help(app.DeclaredSettings()))
}

func main() {
	app.TuneGC(os.Getenv, os.ReadFile) // see internal/app/gc.go; GOGC and GOMEMLIMIT still win
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "version":
		fmt.Fprintln(stdout, "hub", app.Version)
		return nil
	case "tenant", "apikey", "source", "destination", "link", "webhooks", "deliveries", "secrets":
		if len(args) == 0 {
			return fmt.Errorf("%s: missing action; see 'hub help'", cmd)
		}
		return operate(ctx, cmd+" "+args[0], args[1:], getenv, stdout, stderr)
	case "simulate":
		if len(args) == 0 || args[0] != "purchase" {
			return errors.New("simulate: the only simulation is 'hub simulate purchase --gateway G'")
		}
		return simulatePurchase(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		printHelp(stdout)
		return nil
	}
	if c, ok := fakes.Command(cmd); ok {
		return c.Run(ctx, args, stdout)
	}
	return fmt.Errorf("unknown command %q; see 'hub help'", cmd)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv, args, app.DeclaredSettings())
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	log := obs.NewLogger(stdout, cfg.LogLevel)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Bootstrap(ctx, stdout); err != nil {
		return err
	}
	return a.Serve(ctx, func(addr string) {
		store := "PostgreSQL"
		if cfg.Embedded() {
			store = "embedded SQLite in " + cfg.DataDir
		}
		cache := "Redis"
		if cfg.RedisURL == "" {
			cache = "in-process cache"
		}
		log.Info("hub serving", "addr", addr, "ops_addr", a.OpsAddr(), "url", cfg.PublicURL, "store", store, "cache", cache, "version", app.Version)
		fmt.Fprintf(stdout, "Hub %s is serving on %s (%s, %s)\n", app.Version, cfg.PublicURL, store, cache)
		warnPublicURL(stdout, cfg.PublicURL)
	})
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv, args, app.DeclaredSettings())
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", st.Dialect())
	return nil
}

// healthcheck asks the local server for /healthz; the container image has no shell or curl.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", resp.StatusCode)
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// operate runs one operator command against the configured store.
func operate(ctx context.Context, action string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hub "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		name, tenant, role, id, typ, cfgJSON, creds, model, cookieDomain string
		source, target, destination, since, until, provider              string
		window                                                           time.Duration
		origins, secrets                                                 multiFlag
		force                                                            bool
	)
	fs.StringVar(&name, "name", "", "name")
	fs.StringVar(&tenant, "tenant", "", "tenant id")
	fs.StringVar(&role, "role", "admin", "api key role")
	fs.StringVar(&id, "id", "", "api key id")
	fs.StringVar(&typ, "type", "", "destination type")
	fs.StringVar(&cfgJSON, "config", "{}", "destination config JSON")
	fs.StringVar(&creds, "credentials", "", "destination credentials JSON")
	fs.StringVar(&model, "model", "", "attribution model")
	fs.StringVar(&cookieDomain, "cookie-domain", "", "cookie domain")
	fs.StringVar(&source, "source", "", "source id")
	fs.StringVar(&target, "target", "", "link target URL")
	fs.StringVar(&provider, "provider", "", "gateway (hotmart, appmax, ...)")
	fs.StringVar(&destination, "destination", "", "destination id")
	fs.StringVar(&since, "since", "", "RFC 3339 time")
	fs.StringVar(&until, "until", "", "RFC 3339 time")
	fs.DurationVar(&window, "window", 0, "attribution window")
	fs.BoolVar(&force, "force", false, "replay --id: send a delivered delivery again past the platform's deduplication window")
	fs.Var(&origins, "origin", "allowed origin (repeatable)")
	fs.Var(&secrets, "secret", "provider=secret (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "hub %s: the flags below (not every command reads every one); see 'hub help'\n", action)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%s: %w", action, err)
	}
	cfg, err := config.Load(getenv, nil, app.DeclaredSettings())
	if err != nil {
		return err
	}
	op, err := app.OpenOperator(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer op.Close()
	st, keys, svc := op.Store, op.Keys, op.Admin
	// Every command that changes a tenant records it in the tenant's audit log, as the API and
	// the dashboard do; a failure to record is reported on stderr (the change is made).
	actor, auditErrs := cliActor(), slog.New(slog.NewTextHandler(stderr, nil))
	audit := func(tenantID, action, detail string) {
		admin.Audit(ctx, st, auditErrs, store.AuditEntry{TenantID: tenantID, Actor: actor, Action: action, Detail: detail, At: time.Now().UTC()})
	}
	need := func(v, flagName string) error {
		if v == "" {
			return fmt.Errorf("%s: --%s is required", action, flagName)
		}
		return nil
	}
	switch action {
	case "tenant create":
		if err := need(name, "name"); err != nil {
			return err
		}
		t, k, err := svc.CreateTenant(ctx, name)
		if err != nil {
			return err
		}
		audit(t.ID, "tenant.create", "tenant "+t.ID)
		fmt.Fprintf(stdout, "tenant %s (%s)\nadmin key (shown once): %s\n", t.ID, t.Name, k.Plaintext)
	case "apikey create":
		if err := need(tenant, "tenant"); err != nil {
			return err
		}
		k, err := svc.CreateAPIKey(ctx, tenant, name, role)
		if err != nil {
			return err
		}
		audit(tenant, "api_key.create", "key "+k.ID+" role "+k.Role)
		fmt.Fprintf(stdout, "api key %s (%s)\nkey (shown once): %s\n", k.ID, k.Role, k.Plaintext)
	case "apikey revoke":
		if err := errors.Join(need(tenant, "tenant"), need(id, "id")); err != nil {
			return err
		}
		if err := svc.RevokeAPIKey(ctx, tenant, id); err != nil {
			return err
		}
		audit(tenant, "api_key.revoke", "key "+id)
		fmt.Fprintf(stdout, "api key %s revoked\n", id)
	case "source create":
		if err := errors.Join(need(tenant, "tenant"), need(name, "name")); err != nil {
			return err
		}
		in := admin.SourceInput{Name: name, AllowedOrigins: origins, AttributionWindow: window, AttributionModel: model, CookieDomain: cookieDomain, Secrets: map[string]string{}}
		for _, s := range secrets {
			provider, secret, ok := strings.Cut(s, "=")
			if !ok || provider == "" || secret == "" {
				return fmt.Errorf("%s: --secret must be provider=secret", action)
			}
			in.Secrets[provider] = secret
		}
		src, err := svc.CreateSource(ctx, tenant, in)
		if err != nil {
			return err
		}
		audit(tenant, "source.create", "source "+src.ID)
		warnPublicURL(stderr, cfg.PublicURL)
		fmt.Fprintf(stdout, "source %s (%s)\nsnippet: %s\n", src.ID, src.Name, svc.SnippetTag(src))
		tokens, err := svc.WebhookTokens(ctx, src)
		if err != nil {
			return err
		}
		for _, p := range slices.Sorted(maps.Keys(tokens)) {
			fmt.Fprintf(stdout, "%s webhook URL: %s\n", p, svc.WebhookURL(p, tokens[p]))
		}
	case "source rotate-token":
		if err := errors.Join(need(tenant, "tenant"), need(source, "source"), need(provider, "provider")); err != nil {
			return err
		}
		adapter, ok := webhookall.Default().Lookup(provider)
		if !ok {
			return fmt.Errorf("%s: unknown --provider %q; one of %s", action, provider, strings.Join(webhookall.Default().Providers(), ", "))
		}
		src, err := st.GetSource(ctx, tenant, source)
		if err != nil {
			return fmt.Errorf("%s: source %s: %w", action, source, err)
		}
		t, err := svc.RotateWebhookToken(ctx, src, provider)
		if err != nil {
			return err
		}
		audit(tenant, "source.token", "source "+src.ID+" gateway "+provider)
		warnPublicURL(stderr, cfg.PublicURL)
		fmt.Fprintf(stdout, "%s webhook URL: %s\nthe previous %s URL of this source no longer works\n", provider, svc.WebhookURL(provider, t.Token), provider)
		if !adapter.Spec().Signed {
			fmt.Fprintf(stdout, "%s signs nothing: this URL is its only protection; keep it secret\n", provider)
		} else if _, err := st.GetGatewaySecret(ctx, tenant, source, provider); errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stdout, "%s has no secret on this source yet: the URL answers 404 until one is set\n", provider)
		}
	case "destination add":
		if err := errors.Join(need(tenant, "tenant"), need(typ, "type")); err != nil {
			return err
		}
		if !json.Valid([]byte(cfgJSON)) || (creds != "" && !json.Valid([]byte(creds))) {
			return fmt.Errorf("%s: --config and --credentials must be JSON objects", action)
		}
		in := admin.DestinationInput{Type: typ, Name: name, Config: json.RawMessage(cfgJSON)}
		if creds != "" {
			in.Credentials = json.RawMessage(creds)
		}
		d, err := svc.AddDestination(ctx, tenant, in, app.DestinationValidator())
		if err != nil {
			return err
		}
		audit(tenant, "destination.create", "destination "+d.ID+" type "+d.Type)
		fmt.Fprintf(stdout, "destination %s (%s)\n", d.ID, d.Type)
	case "link create":
		if err := errors.Join(need(tenant, "tenant"), need(source, "source"), need(target, "target")); err != nil {
			return err
		}
		l, err := svc.CreateLink(ctx, tenant, source, target)
		if err != nil {
			return err
		}
		audit(tenant, "link.create", "link "+l.Code+" source "+source)
		warnPublicURL(stderr, cfg.PublicURL)
		fmt.Fprintf(stdout, "link %s -> %s\nURL: %s\n", l.Code, l.Target, svc.LinkURL(l))
	case "webhooks reprocess":
		in := op.Intake
		tenants := []string{tenant}
		if tenant == "" {
			ts, err := st.ListTenants(ctx)
			if err != nil {
				return err
			}
			tenants = tenants[:0]
			for _, t := range ts {
				tenants = append(tenants, t.ID)
			}
		}
		n, err := reprocess(ctx, in, tenants, id, stdout, audit)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d webhook(s) reprocessed\n", n)
	case "deliveries replay":
		if err := need(tenant, "tenant"); err != nil {
			return err
		}
		now := time.Now().UTC()
		dests := op.Dests
		var (
			res                 delivery.ReplayResult
			auditAction, detail string
		)
		switch {
		case id != "":
			res, err = delivery.ReplayOne(ctx, st, dests, tenant, id, now, force)
			auditAction, detail = "delivery.replay", "delivery "+id+": "+res.Summary()
		case destination != "":
			res, err = delivery.ReplayDead(ctx, st, dests, tenant, destination, now)
			auditAction, detail = "delivery.replay_dead", fmt.Sprintf("destination %s: %s", destination, res.Summary())
		case since != "" && until != "":
			s, err1 := time.Parse(time.RFC3339, since)
			u, err2 := time.Parse(time.RFC3339, until)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("%s: --since and --until must be RFC 3339 times: %w", action, err)
			}
			res, err = delivery.ReplayRange(ctx, st, dests, tenant, s, u, now)
			auditAction, detail = "delivery.replay_range", fmt.Sprintf("%s..%s: %s", s.Format(time.RFC3339), u.Format(time.RFC3339), res.Summary())
		default:
			return fmt.Errorf("%s: give --id, --destination, or --since and --until", action)
		}
		if err != nil {
			return err
		}
		audit(tenant, auditAction, detail)
		fmt.Fprintf(stdout, "%d delivery(ies) queued for replay; a running hub sends them\n", res.Queued)
		if res.Resends > 0 {
			fmt.Fprintf(stdout, "%d of them delivered already: sent again as a recorded resend\n", res.Resends)
		}
		for _, g := range res.Grouped() {
			fmt.Fprintf(stdout, "%d delivery(ies) skipped: %s\n", g.Count, g.Detail)
		}
		if id != "" && len(res.Skipped) > 0 {
			return fmt.Errorf("%s: delivery %s cannot be sent again: %s", action, id, res.Skipped[0].Detail)
		}
	case "secrets reseal":
		r, err := svc.ResealSecrets(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d secret(s) checked: %d re-sealed under key %s, %d changed meanwhile (left as written)\n",
			r.Checked, r.Resealed, keys.PrimaryKeyID(), r.Changed)
		if len(r.Unopened) > 0 {
			for _, u := range r.Unopened {
				fmt.Fprintf(stdout, "no key opens the %s\n", u)
			}
			return fmt.Errorf("%s: %d secret(s) no key in HUB_SECRET_KEY opens: keep the key that sealed them, or set them again", action, len(r.Unopened))
		}
		fmt.Fprintln(stdout, "every secret is sealed under the first key of HUB_SECRET_KEY: the others can be removed")
	default:
		return fmt.Errorf("unknown command %q; see 'hub help'", action)
	}
	return nil
}

// cliActor names the operator in the audit log: the CLI and the account that ran it.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// warnPublicURL tells the operator, on stderr, when the URLs a command prints (webhook URLs,
// the snippet, links) cannot work from the internet: a local address no gateway or visitor
// reaches, or plain http (gateways may refuse it; buyers' data would travel unencrypted).
// The commands read HUB_PUBLIC_URL and PORT as the server does, so running them with the
// server's settings prints the server's URLs.
func warnPublicURL(w io.Writer, publicURL string) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return
	}
	host := u.Hostname()
	ip, _ := netip.ParseAddr(host)
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost") || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast():
		fmt.Fprintf(w, "warning: the webhook URLs, snippet and links use %s, which no gateway or visitor can reach (%s is not public): set HUB_PUBLIC_URL to Hub's public https address, the same as hub serve's\n", publicURL, host)
	case u.Scheme != "https":
		fmt.Fprintf(w, "warning: the webhook URLs, snippet and links use %s, not https: gateways may refuse them and buyers' data would travel unencrypted; set HUB_PUBLIC_URL to an https address\n", publicURL)
	}
}

// reprocess runs unparseable webhooks through their adapter again (after an adapter fix): the
// one with id, or every unparseable one of each tenant; each is recorded in its tenant's audit log.
func reprocess(ctx context.Context, in *intake.Service, tenants []string, id string, out io.Writer, audit func(tenantID, action, detail string)) (int, error) {
	n := 0
	for _, t := range tenants {
		if id != "" {
			r, err := in.Reprocess(ctx, t, id)
			if err != nil {
				return n, err
			}
			audit(t, "webhook.reprocess", fmt.Sprintf("inbox %s state %s", r.ID, r.State))
			fmt.Fprintf(out, "%s: %s\n", r.ID, r.State)
			n++
			continue
		}
		_, err := in.ReprocessUnparseable(ctx, t, intake.UnparseableFilter{}, func(r intake.Reprocessed, err error) error {
			if err != nil {
				return err
			}
			audit(t, "webhook.reprocess", fmt.Sprintf("inbox %s state %s", r.ID, r.State))
			fmt.Fprintf(out, "%s: %s\n", r.ID, r.State)
			n++
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
