package web

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/dest"
	destall "github.com/hubtrack/hub/internal/dest/all"
	"github.com/hubtrack/hub/internal/dest/ga4"
	"github.com/hubtrack/hub/internal/dest/googleads"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/store"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// verbs counts a message's fmt verbs, so both languages take the same arguments.
var verbRe = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogue fails when a message lacks a language or the two languages take different
// arguments, when a template or the Go code names a key that does not exist, when a code the
// dashboard shows (a status, a state, a reason…) has no words, and when a template holds
// visible text outside the catalogue.
func TestCatalogue(t *testing.T) {
	t.Parallel()
	for k, m := range catalogue {
		if strings.TrimSpace(m.EN) == "" || strings.TrimSpace(m.PT) == "" {
			t.Errorf("%s: a language is missing: %+v", k, m)
		}
		if en, pt := verbRe.FindAllString(m.EN, -1), verbRe.FindAllString(m.PT, -1); strings.Join(en, "") != strings.Join(pt, "") {
			t.Errorf("%s: English takes %v, Portuguese %v", k, en, pt)
		}
	}
	has := func(where, key string) {
		t.Helper()
		if _, ok := catalogue[key]; !ok {
			t.Errorf("%s: no message %q", where, key)
		}
	}

	// Codes the pages name through Code, Reason and the checklist.
	var codes []string
	for _, s := range allStatuses {
		codes = append(codes, "order_status."+string(s))
	}
	for _, s := range append(allStates, "missing") {
		codes = append(codes, "delivery_state."+string(s))
	}
	for _, s := range []store.InboxState{store.InboxReceived, store.InboxProcessed, store.InboxDuplicate, store.InboxIgnored, store.InboxUnparseable, store.InboxRejected} {
		codes = append(codes, "inbox_state."+string(s), "inbox_sentence."+string(s), "inbox_why."+string(s), "flash.reprocessed."+inboxFlash(s))
	}
	codes = append(codes, "inbox_sentence.other", "inbox_why.other", "flash.reprocessed.other")
	for _, r := range []string{store.RoleReadOnly, store.RoleOperator, store.RoleAdmin} {
		codes = append(codes, "role."+r)
	}
	for _, r := range []string{"visitor_id", "identity", "click_id", "network", "none"} {
		codes = append(codes, "rule."+r)
	}
	codes = append(codes, "model."+store.ModelLastClick, "model."+store.ModelFirstClick)
	for _, tp := range []string{"page_view", "lead", "initiate_checkout", "add_to_cart", "identify", "custom", "click"} {
		codes = append(codes, "tp_type."+tp)
	}
	for _, ev := range []string{domain.EventPurchase, domain.EventLead, domain.EventInitiateCheckout, domain.EventAddToCart, domain.EventAddPaymentInfo,
		domain.EventCompleteRegistration, domain.EventSubscribe, domain.EventStartTrial, domain.EventViewContent} {
		codes = append(codes, "event."+ev)
	}
	for _, p := range webhookall.Default().Providers() {
		codes = append(codes, "provider."+p)
	}
	// Every registered destination, so one added later without words fails here.
	reg := dest.NewRegistry()
	destall.Register(reg, dest.Env{})
	for _, spec := range reg.Specs() {
		for _, m := range spec.MissingWords() {
			t.Error(m)
		}
	}
	for _, c := range reasonCodes {
		for _, part := range []string{"title", "means", "fix", "why"} {
			codes = append(codes, "reason."+c+"."+part)
		}
	}
	codes = append(codes, periodLabels...)
	// Every ad platform the Campaigns page offers is named by its spend spec's Title (and the
	// setup page's ad links by its AdLinks), so each needs a spec with every word.
	spendSources := spendall.Sources(spend.Env{})
	for _, pl := range adPlatforms {
		src, ok := spendSources[spend.Platform(pl)]
		if !ok {
			t.Errorf("ad platform %s has no spend spec to name it", pl)
			continue
		}
		for _, m := range src.Spec().MissingWords() {
			t.Error(m)
		}
	}
	codes = append(codes, "camp.level_campaigns", "camp.level_adsets", "camp.level_ads", "camp.no_account", "camp.no_spend",
		"err.camp_dates", "err.camp_order", "err.camp_long")
	for _, s := range []string{"source", "snippet", "webhook", "destination", "test", "public"} {
		codes = append(codes, "step."+s, "step."+s+".next")
	}
	codes = append(codes, "warn.url_unset", "warn.url_localhost", "warn.url_http")
	// moneyProblem and moneyField build their keys from moneyKey's kinds.
	for _, kind := range []string{"currency", "tax", "fee_percent", "fee_fixed", "cost", "rate", "other"} {
		codes = append(codes, "money.err."+kind)
	}
	for _, kind := range []string{"tax", "fee_percent", "fee_fixed", "cost", "rate"} {
		codes = append(codes, "money.f."+kind)
	}
	for _, k := range []string{"touchpoint", "webhook", "delivery"} {
		codes = append(codes, "live.kind."+k)
	}
	for _, o := range []string{"chosen", "lost: marked as a bot", "lost: outside the attribution window", "lost: after the order",
		"lost: organic visit; an ad click wins", "lost: later than the first click", "lost: earlier than the last click",
		"lost: IP and user agent shared by 3 visitors"} {
		if k := outcomeKey(o); k == "outcome.other" {
			t.Errorf("candidate outcome %q has no words of its own", o)
		} else {
			codes = append(codes, k)
		}
	}
	for _, k := range problems {
		codes = append(codes, k)
	}
	for _, c := range codes {
		has("code", c)
	}

	// Keys named in the Go code.
	goKey := regexp.MustCompile(`(?:\.T|\.H|\bsay)\("([a-z0-9_.]+)"|\.N\("([a-z0-9_.]+)"|redirect\(w, r, [^,\n]+, "(flash\.[a-z_.]+)"|step\("([a-z]+)"`)
	files, err := fs.Glob(os.DirFS("."), "*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var code strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "//") {
				code.WriteString(line + "\n")
			}
		}
		for _, m := range goKey.FindAllStringSubmatch(code.String(), -1) {
			switch {
			case m[1] != "" && !strings.HasSuffix(m[1], "."):
				has(f, m[1])
			case m[2] != "":
				has(f, m[2]+".one")
				has(f, m[2]+".other")
			case m[3] != "" && !strings.HasSuffix(m[3], "."):
				has(f, m[3])
			case m[4] != "":
				has(f, "step."+m[4])
			}
		}
	}

	// Templates: every call names an existing key, and no visible text is left outside.
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := templateFS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		builtins := map[string]any{}
		for _, f := range []string{"and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or", "print", "printf", "println", "slice", "urlquery"} {
			builtins[f] = true
		}
		trees, err := parse.Parse(n, string(b), "{{", "}}", map[string]any(funcs), builtins)
		if err != nil {
			t.Fatal(err)
		}
		for _, tree := range trees {
			var text strings.Builder
			walk(tree.Root, &text, func(method, key string) {
				switch method {
				case "T", "H":
					has(n, key)
				case "N":
					has(n, key+".one")
					has(n, key+".other")
				}
			})
			for _, bare := range bareText(text.String()) {
				t.Errorf("%s: visible text outside the catalogue: %q", n, bare)
			}
		}
	}
}

// walk writes a template's text, with each action as a NUL, and reports every $l.T "key" style
// call with a literal key.
func walk(n parse.Node, out *strings.Builder, call func(method, key string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, out, call)
		}
	case *parse.TextNode:
		out.Write(n.Text)
	case *parse.ActionNode:
		out.WriteByte(0)
		pipe(n.Pipe, call)
	case *parse.IfNode:
		out.WriteByte(0)
		pipe(n.Pipe, call)
		walk(n.List, out, call)
		walk(n.ElseList, out, call)
	case *parse.RangeNode:
		out.WriteByte(0)
		pipe(n.Pipe, call)
		walk(n.List, out, call)
		walk(n.ElseList, out, call)
	case *parse.WithNode:
		out.WriteByte(0)
		pipe(n.Pipe, call)
		walk(n.List, out, call)
		walk(n.ElseList, out, call)
	case *parse.TemplateNode:
		out.WriteByte(0)
	}
}

func pipe(p *parse.PipeNode, call func(method, key string)) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			switch a := a.(type) {
			case *parse.VariableNode, *parse.FieldNode, *parse.ChainNode:
				var ident []string
				switch a := a.(type) {
				case *parse.VariableNode:
					ident = a.Ident
				case *parse.FieldNode:
					ident = a.Ident
				case *parse.ChainNode:
					ident = a.Field
				}
				if len(ident) > 0 && i+1 < len(c.Args) {
					if s, ok := c.Args[i+1].(*parse.StringNode); ok {
						call(ident[len(ident)-1], s.Text)
					}
				}
			case *parse.PipeNode:
				pipe(a, call)
			}
		}
	}
}

var (
	tagRe    = regexp.MustCompile(`(?s)<[^>]*>`)
	attrRe   = regexp.MustCompile(`(?:placeholder|title|aria-label|alt|data-confirm)="([^"]*)"`)
	entityRe = regexp.MustCompile(`&[a-z]+;|&#[0-9]+;`)
	wordRe   = regexp.MustCompile(`\pL{2,}`)
)

// bareText returns the words a person would see that do not come from an action: text between
// tags and the visible attributes. "Hub" (the product's name) is the one word allowed.
func bareText(html string) []string {
	var out []string
	check := func(s string) {
		s = entityRe.ReplaceAllString(s, " ")
		for _, w := range wordRe.FindAllString(s, -1) {
			if w != "Hub" {
				out = append(out, strings.TrimSpace(s))
				return
			}
		}
	}
	for _, tag := range tagRe.FindAllString(html, -1) {
		for _, m := range attrRe.FindAllStringSubmatch(tag, -1) {
			check(m[1])
		}
	}
	check(tagRe.ReplaceAllString(html, "\x00"))
	return out
}

// TestBareTextFindsEnglish shows the template check can fail.
func TestBareTextFindsEnglish(t *testing.T) {
	t.Parallel()
	if got := bareText(`<p>{{x}}</p><button title="Copy">` + "\x00" + `</button>`); len(got) != 1 {
		t.Errorf("title attribute: %q", got)
	}
	if got := bareText(`<h1>Orders</h1>`); len(got) != 1 {
		t.Errorf("text node: %q", got)
	}
	if got := bareText("<a class=\"brand\" href=\"/\">Hub</a> \x00 · → –"); len(got) != 0 {
		t.Errorf("allowed text flagged: %q", got)
	}
}

// TestPortugueseDashboard renders the pages in pt-BR for a tenant in São Paulo: Portuguese
// words, times in the tenant's zone with its label, no raw codes, and the SVG status icons.
func TestPortugueseDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	c := e.firstAdmin("ana@example.com")
	c.get("/?lang=pt-BR") // the language link: the choice is kept from then on
	ctx := context.Background()
	tenant := mustTenant(t, e)
	if tenant.TimeZone != "America/Sao_Paulo" {
		t.Fatalf("new tenant's time zone %q", tenant.TimeZone)
	}
	tok := c.csrf("/setup")
	r := c.post("/setup/sources", url.Values{"csrf": {tok}, "name": {"Loja"}, "origins": {"https://loja.example.com"}, "window_days": {"7"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create source: %d %s", r.status, r.body)
	}
	srcs, err := e.st.ListSources(ctx, tenant.ID)
	if err != nil || len(srcs) != 1 {
		t.Fatal(srcs, err)
	}
	e.visit(srcs[0])
	pages := map[string][]string{
		"/?lang=pt-BR":                 {"Visão geral", "Pedidos pagos", "Taxa de atribuição", "dos 0 eventos com envio concluído", "Horários em America/Sao Paulo (UTC−3)"},
		"/orders":                      {"Pedidos", "Buscar pedido", "aguardando pagamento"},
		"/failures":                    {"Falhas", "Webhooks que o Hub não conseguiu usar"},
		"/accuracy":                    {"Precisão", "Últimos 7 dias"},
		"/setup":                       {"Configuração", "Lista de verificação", "Origens", "Destinos", "API de Conversões da Meta", `class="icon icon-ok"`},
		"/setup/sources/" + srcs[0].ID: {"Está funcionando?", "Código visto em https://shop.example.com às", "UTC−3", "Cole a URL de webhook", "janela de 7 dias", "Último clique", "nenhuma plataforma consegue chamá-las"},
		"/settings":                    {"Ajustes", "Fuso horário", "Chaves de API", "30 dias"},
		"/users":                       {"Usuários", "administrador"},
		"/account":                     {"Minha conta", "Trocar senha"},
		"/live":                        {"Eventos ao vivo", "Todas as origens"},
	}
	for path, want := range pages {
		r := c.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		mustContain(t, path, r.body, append(want, `<html lang="pt-BR">`)...)
		for _, raw := range []string{"168h0m0s", ">last_click<", ">Orders<", ">Setup<", "unhealthy:", "meta meta", "⏳", "✅"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("%s shows %q", path, raw)
			}
		}
	}
	// The snippet was seen an hour ago: shown in São Paulo's time, labelled.
	seen := time.Now().Add(-time.Hour).In(mustZone(t, "America/Sao_Paulo")).Format("02/01/2006 15:04")
	mustContain(t, "snippet time", c.get("/setup/sources/"+srcs[0].ID).body, seen)

	// The tenant's time zone is a setting; an unknown zone is refused in words.
	tok = c.csrf("/settings")
	if r := c.post("/settings/time-zone", url.Values{"csrf": {tok}, "time_zone": {"Marte/Olimpo"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "não é um fuso horário que o Hub conheça") {
		t.Errorf("bad zone: %d", r.status)
	}
	if r := c.post("/settings/time-zone", url.Values{"csrf": {tok}, "time_zone": {"America/Manaus"}}); r.status != http.StatusSeeOther {
		t.Fatalf("set zone: %d %s", r.status, r.body)
	}
	mustContain(t, "zone changed", c.get("/settings?flash=flash.time_zone&fa=America/Manaus").body, "Fuso horário alterado para America/Manaus", "UTC−4")
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestChecklistIsTrue: each tick of the setup checklist is a fact. A source made before the
// first login is not asked for again; the test step ticks only after the platform accepted a
// test; a rejected webhook shows in red, never green.
func TestChecklistIsTrue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	ctx := context.Background()
	tenant := mustTenant(t, e)
	src, err := e.ui.cfg.Admin.CreateSource(ctx, tenant.ID, admin.SourceInput{Name: "Made by the CLI"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	tok := c.csrf("/welcome")
	r := c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {testPassword}, "password2": {testPassword}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("welcome: %d", r.status)
	}
	loc := r.location
	if !strings.Contains(c.get(loc).body, "Your sources are already here") || strings.Contains(c.get(loc).body, "Start by adding a source") {
		t.Errorf("a source exists, yet the welcome says to add one (%s)", loc)
	}
	step := func(body, id string) string {
		t.Helper()
		m := regexp.MustCompile(`<li id="step-` + id + `" class="([a-z]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no step %s", id)
		}
		return m[1]
	}
	body := c.get("/setup").body
	for id, want := range map[string]string{"source": "done", "snippet": "todo", "webhook": "todo", "destination": "todo", "test": "todo", "public": "bad"} {
		if got := step(body, id); got != want {
			t.Errorf("fresh setup: step %s is %s, want %s", id, got, want)
		}
	}
	// A destination without a test sent: "test" stays unticked.
	tok = c.csrf("/setup")
	r = c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {"Meta"}, "s_pixel_id": {"123456789"},
		"s_access_token": {"EAAtoken"}, "s_test_event_code": {"TEST1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("add destination: %d %s", r.status, r.body)
	}
	body = c.get("/setup").body
	if step(body, "destination") != "done" || step(body, "test") != "todo" {
		t.Errorf("after adding a destination: destination %s, test %s", step(body, "destination"), step(body, "test"))
	}
	// A webhook that fails the gateway's check is red, with the reason in words.
	if _, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", State: store.InboxRejected,
		ReceivedAt: time.Now().UTC(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	body = c.get("/setup").body
	if step(body, "webhook") != "bad" || !strings.Contains(body, "failed the gateway&#39;s authenticity check") {
		t.Errorf("rejected webhook: step %s", step(body, "webhook"))
	}
	sp := c.get("/setup/sources/" + src.ID).body
	mustContain(t, "source status", sp, `id="webhook-status" class="bad"`, "refused: it failed the gateway&#39;s authenticity check")
	if strings.Contains(sp, `id="webhook-status" class="ok"`) {
		t.Error("a rejected webhook is shown as working")
	}
	// The webhook URLs shown are this machine's (http://127.0.0.1:…): a loud warning, and the
	// checklist's public-address step is red.
	mustContain(t, "localhost warning", sp, `role="alert" id="url-warning"`, "point to this computer (localhost): no gateway can call them")
	if step(c.get("/setup").body, "public") != "bad" {
		t.Error("the public address step is not red for a localhost URL")
	}
	// Doc references are links.
	mustContain(t, "guides", sp, `href="https://github.com/hubtrack/hub/blob/main/docs/gateways/hotmart.md"`)
	if strings.Contains(sp, ">docs/gateways/") {
		t.Error("a repository path instead of a link")
	}
}

// TestExplanation: the order explanation speaks the reader's language, never contradicts
// itself when the only visit was a bot, and does not call a src label a visitor id.
func TestExplanation(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 22, 27, 0, 0, time.UTC)
	o := store.Order{Tracking: store.Tracking{Src: "fb_ads", Sck: "k_visitor1", VisitorIDs: []string{"k_visitor1", "fb_ads"}}}
	bot := store.Attribution{Rule: "none", Candidates: []store.Candidate{{TouchpointID: "tp1", Rule: "visitor_id", OccurredAt: at, Outcome: "lost: marked as a bot"}}}
	known := map[string]bool{"k_visitor1": true, "fb_ads": false}
	ex := explain(localeEN.in(mustZone(t, "America/Sao_Paulo")), o, bot, nil, known)
	all := strings.Join(ex.Sentences, " ")
	if !strings.Contains(all, "made by a robot") || strings.Contains(all, "falls in the window") || strings.Contains(all, "outside the attribution window") ||
		!strings.Contains(all, "What would have matched it: a visit by a person") || strings.Contains(all, "snippet") {
		t.Errorf("bot-only orphan: %q", all)
	}
	if !strings.Contains(all, "src=fb_ads is a campaign label, not a Hub visitor id") {
		t.Errorf("src label: %q", all)
	}
	if len(ex.Candidates) != 1 || ex.Candidates[0].Outcome != "not counted: made by a robot" {
		t.Errorf("candidates: %+v", ex.Candidates)
	}
	matched := store.Attribution{TouchpointID: "tp2", Rule: "visitor_id", Confidence: 1, Candidates: []store.Candidate{{TouchpointID: "tp2", Rule: "visitor_id", OccurredAt: at, Outcome: "chosen"}}}
	tp := store.Touchpoint{ID: "tp2", OccurredAt: at, FBCLID: "x", UTM: store.UTM{Source: "facebook", Campaign: "launch"}}
	ex = explain(localePT.in(mustZone(t, "America/Sao_Paulo")), o, matched, &tp, known)
	all = strings.Join(ex.Sentences, " ")
	want := "A venda foi atribuída a um clique em anúncio do Facebook/Instagram (facebook / launch) em 30/11/2026 19:27:00 UTC−3."
	if !strings.Contains(all, want) || strings.Contains(all, "tp2") || strings.Contains(all, "2026-11-30T") || strings.Contains(all, "1.00") {
		t.Errorf("matched: %q", all)
	}

	// One visit lost is counted in the singular; a Google click is named as Google's.
	matched.Candidates = append(matched.Candidates, store.Candidate{TouchpointID: "tp3", Rule: "visitor_id", OccurredAt: at, Outcome: "lost: organic visit; an ad click wins"})
	tp = store.Touchpoint{ID: "tp2", OccurredAt: at, GCLID: "g", UTM: store.UTM{Source: "google", Campaign: "search"}}
	for l, want := range map[locale]string{
		localeEN: "a click on a Google ad (google / search) on Nov 30, 2026 19:27:00 UTC−3. Why: the checkout link carried Hub's visitor id from your site back to the gateway, so the match is certain. 1 other visit was considered and lost",
		localePT: "um clique em anúncio do Google (google / search) em 30/11/2026 19:27:00 UTC−3. Por quê: o link do checkout levou o id de visitante do Hub do seu site até a plataforma de pagamento, então a ligação é certa. Mais 1 visita foi considerada e perdeu",
	} {
		all = strings.Join(explain(l.in(mustZone(t, "America/Sao_Paulo")), o, matched, &tp, known).Sentences, " ")
		if !strings.Contains(all, want) {
			t.Errorf("%s: %q, want %q", l.Tag, all, want)
		}
	}
	// A Google click from iOS carries gbraid or wbraid instead of a gclid: Google's all the same.
	for _, ios := range []store.Touchpoint{{ID: "tp2", OccurredAt: at, WBRAID: "wb"}, {ID: "tp2", OccurredAt: at, GBRAID: "gb"}} {
		for l, want := range map[locale]string{
			localeEN: "a click on a Google ad on Nov 30, 2026 19:27:00 UTC−3.",
			localePT: "um clique em anúncio do Google em 30/11/2026 19:27:00 UTC−3.",
		} {
			all = strings.Join(explain(l.in(mustZone(t, "America/Sao_Paulo")), o, matched, &ios, known).Sentences, " ")
			if !strings.Contains(all, want) {
				t.Errorf("%s, gbraid %q wbraid %q: %q, want %q", l.Tag, ios.GBRAID, ios.WBRAID, all, want)
			}
		}
	}
}

// TestGoogleClickIDWords: what the order page says a Google destination received names every
// Google click id Hub sends as one (dest.IDGCLID: gclid, gbraid or wbraid), not the gclid alone:
// a click from an iPhone carries a gbraid or wbraid instead.
func TestGoogleClickIDWords(t *testing.T) {
	t.Parallel()
	for _, l := range []locale{localeEN, localePT} {
		words := l.T("ident." + string(dest.IDGCLID))
		for _, id := range []string{"gclid", "gbraid", "wbraid"} {
			if !strings.Contains(words, id) {
				t.Errorf("%s: %q does not name %s", l.Tag, words, id)
			}
		}
	}
}

// TestEveryDestinationProblemWorded fails when a problem a registered destination states about
// its settings has no words in both languages (the dashboard's for problems every destination
// may state, else the destination's own, in its spec), so a Portuguese reader would read it in
// English. Every setting gets a value no destination accepts ("x y": a space, no digits, no
// pairs), so each validation rule speaks.
func TestEveryDestinationProblemWorded(t *testing.T) {
	t.Parallel()
	reg := dest.NewRegistry()
	destall.Register(reg, dest.Env{})
	en, pt := localeEN.naming(reg), localePT.naming(reg)
	for _, typ := range reg.Types() {
		d, _ := reg.Lookup(typ)
		bad := dest.Config{}
		for _, st := range d.Spec().Settings {
			if !st.Secret {
				bad[st.Name] = "x y"
			}
		}
		var ce *dest.ConfigError
		if err := d.ValidateConfig(bad); !errors.As(err, &ce) || len(ce.Problems) < 2 {
			t.Fatalf("%s: ValidateConfig(bad) = %v, want problems", typ, err)
		}
		// The secrets' own checks (Setting.Check: the webhook's whsec_ form) speak too.
		badCreds := map[string]string{}
		for _, st := range d.Spec().Settings {
			if st.Secret {
				badCreds[st.Name] = "x y"
			}
		}
		problems := append(ce.Problems, dest.CheckCredentials(d.Spec(), dest.NewCredentials(badCreds)).Problems...)
		for _, p := range problems {
			if en.Problem(p.Reason) != p.Reason || pt.Problem(p.Reason) == p.Reason {
				t.Errorf("%s: %s: problem %q has no words (en %q, pt-BR %q)", typ, p.Field, p.Reason, en.Problem(p.Reason), pt.Problem(p.Reason))
			}
		}
	}
}

// TestNoticeProblemsTranslated: an ad platform refuses Hub's notices (OrderRefunded, ...) in its
// events setting, and the dashboard names the refused event in both languages.
func TestNoticeProblemsTranslated(t *testing.T) {
	t.Parallel()
	err := googleads.New(dest.Env{}).ValidateConfig(dest.Config{googleads.SettingEvents: "Purchase,OrderRefunded"})
	var ce *dest.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("ValidateConfig = %v, want a *dest.ConfigError", err)
	}
	found := false
	for _, p := range ce.Problems {
		if p.Field != dest.SettingEvents {
			continue
		}
		found = true
		en, pt := localeEN.Problem(p.Reason), localePT.Problem(p.Reason)
		if !strings.Contains(en, "OrderRefunded") || !strings.Contains(pt, "OrderRefunded") || !strings.Contains(pt, "só um webhook") {
			t.Errorf("problem %q: en %q, pt-BR %q", p.Reason, en, pt)
		}
	}
	if !found {
		t.Errorf("OrderRefunded accepted by google_ads: %v", err)
	}
}

// TestLanguageSavedOnAccount: the language a user chooses with the language form is saved on
// the account, so a new session of that user, on a browser asking for English, sees the
// dashboard in Portuguese; another user of the same tenant still sees English; choosing again
// changes it back.
func TestLanguageSavedOnAccount(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			ana := e.firstAdmin("ana@example.com")
			ana.addUser("bia@example.com", store.RoleAdmin)
			choose := func(lang string) {
				t.Helper()
				if r := ana.post("/account/language", url.Values{"csrf": {ana.csrf("/")}, "lang": {lang}, "next": {"/"}}); r.status != http.StatusSeeOther {
					t.Fatalf("language form: %d %s", r.status, r.body)
				}
			}
			choose("pt-BR")
			if u, err := e.st.GetUserByEmail(context.Background(), "ana@example.com"); err != nil || u.Language != "pt-BR" {
				t.Fatalf("saved language %q, %v", u.Language, err)
			}
			overview := func(email string) string {
				t.Helper()
				c, r := e.login(email, testPassword) // a fresh cookie jar: no hub_lang cookie
				if r.status != http.StatusSeeOther {
					t.Fatalf("login %s: %d", email, r.status)
				}
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
				req.Header.Set("Accept-Language", "en")
				res, err := c.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got := read(t, res)
				if got.status != http.StatusOK {
					t.Fatalf("overview of %s: %d", email, got.status)
				}
				return got.body
			}
			mustContain(t, "ana's new session", overview("ana@example.com"), `<html lang="pt-BR">`, "Visão geral")
			mustContain(t, "bia's session", overview("bia@example.com"), `<html lang="en">`, "Overview")

			choose("en")
			mustContain(t, "ana chose English", overview("ana@example.com"), `<html lang="en">`)
		})
	}
}

// TestLanguageLinkIsNotAGet: a GET with ?lang= (a link, from another site too) shows the page in
// that language and does not change the language saved on the signed-in user's account. The
// language form at the foot of every page (a POST with the session's CSRF token) saves it and
// goes back, 303, to the page it was on, without ?lang=; without the token, or with another
// session's, it is refused and saves nothing. It goes back only to a page of the dashboard that
// a GET serves: another site, or the address of a form shown again, sends it to the overview.
func TestLanguageLinkIsNotAGet(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			ana := e.firstAdmin("ana@example.com")
			ana.addUser("bia@example.com", store.RoleAdmin)
			saved := func() string {
				t.Helper()
				u, err := e.st.GetUserByEmail(context.Background(), "ana@example.com")
				if err != nil {
					t.Fatal(err)
				}
				return u.Language
			}

			r := ana.get("/orders?status=paid&lang=pt-BR")
			mustContain(t, "a page through a link", r.body, `<html lang="pt-BR">`, `action="/account/language"`,
				`name="next" value="/orders?status=paid"`, `name="lang" value="en"`)
			if got := saved(); got != "" {
				t.Fatalf("a GET with ?lang=pt-BR saved %q on the account", got)
			}

			form := func(lang, next string) url.Values {
				return url.Values{"csrf": {ana.csrf("/")}, "lang": {lang}, "next": {next}}
			}
			noToken := form("pt-BR", "/")
			noToken.Del("csrf")
			bia, _ := e.login("bia@example.com", testPassword)
			for what, f := range map[string]url.Values{
				"no token":              noToken,
				"another session's":     {"csrf": {bia.csrf("/")}, "lang": {"pt-BR"}, "next": {"/"}},
				"a token of no session": {"csrf": {"0123456789abcdef0123456789abcdef"}, "lang": {"pt-BR"}, "next": {"/"}},
			} {
				if r := ana.post("/account/language", f); r.status != http.StatusForbidden {
					t.Errorf("%s: %d; want 403", what, r.status)
				}
			}
			if got := saved(); got != "" {
				t.Fatalf("a refused form saved %q", got)
			}

			r = ana.post("/account/language", form("pt-BR", "/orders?status=paid"))
			if r.status != http.StatusSeeOther || r.location != "/orders?status=paid" {
				t.Fatalf("language form: %d to %q; want 303 to /orders?status=paid", r.status, r.location)
			}
			if got := saved(); got != "pt-BR" {
				t.Fatalf("saved %q after the form; want pt-BR", got)
			}
			mustContain(t, "the page after the form", ana.get("/orders?status=paid").body, `<html lang="pt-BR">`)
			ana.get("/?lang=en")
			if got := saved(); got != "pt-BR" {
				t.Errorf("a GET with ?lang=en changed the saved language to %q", got)
			}

			for next, want := range map[string]string{
				"https://evil.example/": "/", "//evil.example/": "/", "/settings/erase": "/", "/nowhere": "/",
				"/orders/123": "/orders/123", "/settings": "/settings",
			} {
				if r := ana.post("/account/language", form("en", next)); r.status != http.StatusSeeOther || r.location != want {
					t.Errorf("next %q: %d to %q; want 303 to %q", next, r.status, r.location, want)
				}
			}
			if got := saved(); got != "en" {
				t.Errorf("saved %q; want en", got)
			}
		})
	}
}

// TestExplanationStitchAndBots: a credit moved from a visit without an ad to the same person's
// ad click says why in both languages (never the certain-match sentence of the visitor id
// alone), and a buyer whose only visits from its IP address and browser were a robot's is told
// so, with the robot's fix rather than the snippet's.
func TestExplanationStitchAndBots(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 22, 27, 0, 0, time.UTC)
	o := store.Order{Tracking: store.Tracking{Sck: "k_new", VisitorIDs: []string{"k_new"}}}
	stitched := store.Attribution{TouchpointID: "tp1", Rule: "visitor_id", Confidence: 0.6, Candidates: []store.Candidate{
		{TouchpointID: "tp9", Rule: "visitor_id", OccurredAt: at, Outcome: "lost: organic visit; an ad click of the same person wins"},
		{TouchpointID: "tp1", Rule: "network", OccurredAt: at.Add(-10 * time.Minute), Outcome: "chosen"},
	}}
	tp := store.Touchpoint{ID: "tp1", OccurredAt: at.Add(-10 * time.Minute), FBCLID: "x"}
	for l, want := range map[locale][]string{
		localeEN: {"only visits without an ad", "from another page of your site", "less than 30 minutes", "never takes the credit from an ad click of the same person", "lost: a visit without an ad"},
		localePT: {"só tinha visitas sem anúncio", "veio de outra página do seu site", "menos de 30 minutos", "nunca tira o crédito de um clique em anúncio da mesma pessoa", "perdeu: visita sem anúncio"},
	} {
		ex := explain(l.in(mustZone(t, "America/Sao_Paulo")), o, stitched, &tp, map[string]bool{"k_new": true})
		all := strings.Join(ex.Sentences, " ")
		for _, c := range ex.Candidates {
			all += " " + c.Outcome
		}
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s stitched: %q lacks %q", l.Tag, all, w)
			}
		}
		if strings.Contains(all, "certain") || strings.Contains(all, "certa") {
			t.Errorf("%s stitched says the match is certain: %q", l.Tag, all)
		}
	}

	botOnly := store.Order{Buyer: store.Buyer{IP: "203.0.113.9", UserAgent: "HeadlessChrome"}}
	bots := store.Attribution{Rule: "none", Candidates: []store.Candidate{{TouchpointID: "tp1", Rule: "network", OccurredAt: at, Outcome: "lost: marked as a bot"}}}
	all := strings.Join(explain(localeEN.in(time.UTC), botOnly, bots, nil, map[string]bool{}).Sentences, " ")
	if !strings.Contains(all, "were made by a robot") || strings.Contains(all, "No single visitor") || !strings.Contains(all, "a visit by a person") || strings.Contains(all, "snippet") {
		t.Errorf("bot-only by IP and browser: %q", all)
	}
}

// TestEveryDestinationReasonExplained: every Reason constant the destination seam declares has a
// plain-language explanation in both languages in the dashboard (else it shows "unknown";
// no_identifiers once did), and every Reason constant a destination declares in its own folder
// (GA4's no_client_id) is explained by its spec (dest.Spec.Reasons), which the dashboard reads
// from the registry. A destination's reason is its own: no seam reason, no other destination's.
func TestEveryDestinationReasonExplained(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, c := range reasonCodes {
		known[c] = true
	}
	seam := reasonConsts(t, "../dest")
	if len(seam) < 20 {
		t.Fatalf("found only %d dest.Reason constants; the parse is wrong", len(seam))
	}
	for name, code := range seam {
		if !known[code] {
			t.Errorf("dest.%s (%q) has no explanation in reasonCodes (internal/web/help.go)", name, code)
		}
	}

	reg := dest.NewRegistry()
	destall.Register(reg, dest.Env{})
	en, pt := localeEN.naming(reg), localePT.naming(reg)
	declaredBy := map[string]string{}
	for _, spec := range reg.Specs() {
		for _, r := range spec.Reasons {
			if known[r.Code] {
				t.Errorf("%s declares %q, a reason every destination may give (dest.Reason…, explained in help.go)", spec.Type, r.Code)
			}
			if other, ok := declaredBy[r.Code]; ok {
				t.Errorf("%s and %s both declare reason %q", other, spec.Type, r.Code)
			}
			declaredBy[r.Code] = spec.Type
			if h := en.reason(r.Code); h.Title != r.Title.EN || h.Fix != r.Fix.EN {
				t.Errorf("%s: reason %q reads %+v in English, not its spec's words", spec.Type, r.Code, h)
			}
			if h := pt.reason(r.Code + ": detail"); h.Title != r.Title.PT || h.Means != r.Means.PT || h.Why != r.Why.PT || h.Code != r.Code {
				t.Errorf("%s: reason %q reads %+v in Portuguese, not its spec's words", spec.Type, r.Code, h)
			}
		}
	}
	dirs, err := os.ReadDir("../dest")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "all" || d.Name() == "desttest" {
			continue
		}
		for name, code := range reasonConsts(t, "../dest/"+d.Name()) {
			n++
			if _, ok := declaredBy[code]; !ok {
				t.Errorf("dest/%s.%s (%q) is not explained in its spec (dest.Spec.Reasons)", d.Name(), name, code)
			}
		}
	}
	if n < 2 {
		t.Fatalf("found only %d Reason constants in the destinations' folders (GA4's, Google Ads'); the parse is wrong", n)
	}
	if localeEN.reason(ga4.ReasonNoClientID).Title != localeEN.reason("unknown").Title {
		t.Errorf("without the registry, a destination's reason should read as unknown")
	}
}

// reasonConsts returns the string constants named Reason… declared in dir's non-test Go files,
// by name.
func reasonConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, dir+"/"+e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}
