package alert_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/alert"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// smtpServer is a small real SMTP server (RFC 5321 over TCP, with AUTH PLAIN) that keeps every
// message it receives, so a test reads what Hub sent.
type smtpServer struct {
	ln net.Listener
	// tls, when set, is offered as STARTTLS; tlsUsed records that a client upgraded.
	tls      *tls.Config
	tlsUsed  bool
	mu       sync.Mutex
	messages []smtpMessage
	auths    []string // the decoded AUTH PLAIN responses
}

type smtpMessage struct {
	from string
	to   []string
	data string
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 test.local ESMTP")
	var m smtpMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO"), strings.HasPrefix(verb, "HELO"):
			say("250-test.local")
			say("250-8BITMIME")
			if s.tls != nil {
				if _, upgraded := c.(*tls.Conn); !upgraded {
					say("250-STARTTLS")
				}
			}
			say("250 AUTH PLAIN")
		case verb == "STARTTLS" && s.tls != nil:
			say("220 Ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			s.mu.Lock()
			s.tlsUsed = true
			s.mu.Unlock()
			c, r = tc, bufio.NewReader(tc)
			say = func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
		case strings.HasPrefix(verb, "AUTH PLAIN"):
			resp := strings.TrimSpace(line[len("AUTH PLAIN"):])
			if resp == "" {
				say("334 ")
				l, _ := r.ReadString('\n')
				resp = strings.TrimSpace(l)
			}
			dec, _ := base64.StdEncoding.DecodeString(resp)
			s.mu.Lock()
			s.auths = append(s.auths, string(dec))
			s.mu.Unlock()
			say("235 2.7.0 Authentication successful")
		case strings.HasPrefix(verb, "MAIL FROM:"):
			addr, _, _ := strings.Cut(strings.TrimSpace(line[len("MAIL FROM:"):]), " ") // BODY=8BITMIME may follow
			m = smtpMessage{from: strings.Trim(addr, "<>")}
			say("250 OK")
		case strings.HasPrefix(verb, "RCPT TO:"):
			m.to = append(m.to, strings.Trim(line[len("RCPT TO:"):], "<> "))
			say("250 OK")
		case verb == "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.messages = append(s.messages, m)
			s.mu.Unlock()
			say("250 OK queued")
		case verb == "QUIT":
			say("221 Bye")
			return
		case verb == "RSET", verb == "NOOP":
			say("250 OK")
		default:
			say("502 Command not implemented")
		}
	}
}

func (s *smtpServer) received() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.messages...)
}

// body decodes a received message's quoted-printable body.
func (m smtpMessage) body(t *testing.T) string {
	t.Helper()
	_, raw, ok := strings.Cut(m.data, "\r\n\r\n")
	if !ok {
		t.Fatalf("no header/body separator in %q", m.data)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const smtpPassword = "pw-Zq81-never-logged"

type world struct {
	st     store.Store
	svc    *alert.Service
	tenant store.Tenant
	meta   store.Destination
	hook   *fakewebhook.Server
	logs   *syncBuffer
	smtp   *smtpServer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newWorld(t *testing.T, st store.Store) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: st, hook: fakewebhook.New(), logs: &syncBuffer{}, smtp: newSMTPServer(t)}
	srv := httptest.NewServer(w.hook)
	t.Cleanup(srv.Close)
	w.hook.SetURL(srv.URL)
	keys, _ := pii.NewKeyring(pii.GenerateKey())
	client := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 5 * time.Second})
	reg := dest.NewRegistry()
	reg.Register(webhook.New(dest.Env{Client: client}))
	adm := &admin.Service{Store: st, Keys: keys}
	tn, _, err := adm.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	w.tenant = tn
	if _, err := st.CreateUser(ctx, store.User{TenantID: tn.ID, Email: "owner@example.com", PasswordHash: "x", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.User{TenantID: tn.ID, Email: "viewer@example.com", PasswordHash: "x", Role: store.RoleReadOnly}); err != nil {
		t.Fatal(err)
	}
	cfg, creds := w.hook.Settings()
	rawCfg, _ := json.Marshal(cfg)
	rawCreds, _ := json.Marshal(map[string]string{"signing_secret": creds.Get("signing_secret")})
	if _, err := adm.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: webhook.Type, Name: "CRM", Config: rawCfg, Credentials: rawCreds}, nil); err != nil {
		t.Fatal(err)
	}
	// A destination of a type the registry does not send alerts to (its health is what fails).
	w.meta, err = st.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: "Pixel loja", Enabled: true,
		Health: store.DestinationHealth{State: "healthy"}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.svc = &alert.Service{Store: st, Dests: reg, Keys: keys, Log: log,
		Mail: &alert.SMTP{Config: config.SMTP{Host: "127.0.0.1", Port: w.smtp.port(), User: "hub", Password: smtpPassword, From: "Hub <alerts@example.com>"}}}
	return w
}

func (w *world) start(t *testing.T) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &alert.MailWorker{Service: w.svc})
	river.AddWorker(workers, &alert.WebhookWorker{Service: w.svc})
	river.AddWorker(workers, &alert.CheckWorker{Service: w.svc})
	if err := w.st.Queue().Start(context.Background(), workers, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.st.Queue().Stop(ctx)
	})
}

func pending(t *testing.T, st store.Store) int64 {
	t.Helper()
	n, err := st.Queue().Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A destination turning unhealthy raises one alert: one e-mail to the tenant's admins through
// a real SMTP exchange (authenticated, the password never logged) and one signed alert.raised to
// the webhook destination. Checking again while it holds sends nothing more; when it clears,
// one resolved notice of each; checking again after that sends nothing.
func TestAlertRaisedOnceResolvedOnce(t *testing.T) {
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		if n := pending(t, st); n != 0 {
			t.Fatalf("healthy: %d notices queued", n)
		}
		if err := st.SetDestinationHealth(ctx, w.tenant.ID, w.meta.ID, store.DestinationHealth{State: "unhealthy", Reason: "invalid_token"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ { // three checks (or replicas) while the condition holds
			if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n := pending(t, st); n != 2 {
			t.Fatalf("after three checks while unhealthy: %d notices queued, want 2 (one e-mail, one webhook)", n)
		}
		all, err := st.ListAlerts(ctx, store.AlertFilter{TenantID: w.tenant.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Kind != store.AlertDestinationUnhealthy || all[0].Subject != w.meta.ID || all[0].Detail != "invalid_token" {
			t.Fatalf("alerts: %+v", all)
		}

		w.start(t)
		waitFor(t, "the raised e-mail and webhook", func() bool { return len(w.smtp.received()) == 1 && len(w.hook.Requests()) == 1 })
		m := w.smtp.received()[0]
		if m.from != "alerts@example.com" || strings.Join(m.to, ",") != "owner@example.com" {
			t.Errorf("envelope: from %q to %v (want the admins only)", m.from, m.to)
		}
		body := m.body(t)
		for _, want := range []string{"O destino “Pixel loja” parou de aceitar conversões", "invalid_token", "The destination “Pixel loja” stopped accepting conversions", "America/Sao_Paulo"} {
			if !strings.Contains(body, want) {
				t.Errorf("e-mail body lacks %q:\n%s", want, body)
			}
		}
		if !strings.Contains(m.data, "Subject: =?utf-8?q?") {
			t.Errorf("subject not RFC 2047 encoded:\n%s", m.data)
		}
		w.smtp.mu.Lock()
		auths := append([]string(nil), w.smtp.auths...)
		w.smtp.mu.Unlock()
		if len(auths) != 1 || auths[0] != "\x00hub\x00"+smtpPassword {
			t.Errorf("AUTH PLAIN: %q", auths)
		}
		var p struct {
			Type string
			ID   string
			Data struct {
				Alert struct {
					Kind, State, Subject string
					Text                 map[string]string
				}
			}
		}
		req := w.hook.Requests()[0]
		if req.Status != 204 && req.Status != 200 {
			t.Fatalf("fake answered %d: %s", req.Status, req.Body)
		}
		if err := json.Unmarshal(req.Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "alert.raised" || p.Data.Alert.Kind != store.AlertDestinationUnhealthy || p.Data.Alert.State != "raised" ||
			!strings.Contains(p.Data.Alert.Text["pt-BR"], "Pixel loja") || !strings.Contains(p.Data.Alert.Text["en"], "Pixel loja") {
			t.Errorf("webhook payload: %s", req.Body)
		}
		waitFor(t, "the queue to drain", func() bool { return pending(t, st) == 0 })

		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.SetDestinationHealth(ctx, w.tenant.ID, w.meta.ID, store.DestinationHealth{State: "healthy"}); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the resolved e-mail and webhook", func() bool { return len(w.smtp.received()) >= 2 && len(w.hook.Requests()) >= 2 })
		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the queue to drain", func() bool { return pending(t, st) == 0 })
		if n, h := len(w.smtp.received()), len(w.hook.Requests()); n != 2 || h != 2 {
			t.Fatalf("e-mails %d, webhooks %d; want 2 and 2 (raised, resolved)", n, h)
		}
		if body := w.smtp.received()[1].body(t); !strings.Contains(body, "Resolvido em") || !strings.Contains(body, "is accepting conversions again") {
			t.Errorf("resolved e-mail:\n%s", body)
		}
		if err := json.Unmarshal(w.hook.Requests()[1].Body, &p); err != nil || p.Type != "alert.resolved" || p.Data.Alert.State != "resolved" {
			t.Errorf("resolved webhook: %s", w.hook.Requests()[1].Body)
		}
		open, _ := st.ListAlerts(ctx, store.AlertFilter{TenantID: w.tenant.ID, Open: true})
		if len(open) != 0 {
			t.Errorf("open after it cleared: %+v", open)
		}
		if logs := w.logs.String(); strings.Contains(logs, smtpPassword) || !strings.Contains(logs, "alert: e-mailed") {
			t.Errorf("logs (the password must not be there; the sends must):\n%s", logs)
		}
	})
}

// The gateway, snippet and delivered-share conditions: each raised with what was measured, only
// for a gateway or snippet that sent before, and not when the tenant turned the kind off.
func TestConditions(t *testing.T) {
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		w.svc.Mail = nil
		// The check runs 3 hours from now: the orders below, created now by the store's clock, are
		// then old enough to count in the delivered share (which leaves out the last hour).
		now := time.Now().UTC().Truncate(time.Second).Add(3 * time.Hour)
		w.svc.Now = func() time.Time { return now }
		adm := &admin.Service{Store: st}
		src, err := adm.CreateSource(ctx, w.tenant.ID, admin.SourceInput{Name: "Loja"})
		if err != nil {
			t.Fatal(err)
		}
		quiet, err := adm.CreateSource(ctx, w.tenant.ID, admin.SourceInput{Name: "Nova"}) // never sent anything
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []store.Source{src, quiet} {
			for _, p := range []string{"hotmart", "kiwify"} {
				if err := st.PutWebhookToken(ctx, store.WebhookToken{Token: s.ID + p, TenantID: w.tenant.ID, SourceID: s.ID, Provider: p}); err != nil {
					t.Fatal(err)
				}
			}
		}
		old := now.Add(-30 * time.Hour)
		if _, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: w.tenant.ID, SourceID: src.ID, Provider: "hotmart", ReceivedAt: old, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: w.tenant.ID, SourceID: src.ID, Provider: "kiwify", ReceivedAt: now.Add(-time.Hour), Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{{TenantID: w.tenant.ID, SourceID: src.ID, Type: "page_view", VisitorID: "v1",
			OccurredAt: old, ReceivedAt: old}}); err != nil {
			t.Fatal(err)
		}
		// 20 paid orders of the window to the meta destination: 12 delivered, 6 dead, 2 skipped
		// (skipped ones do not count): 12 of 18 = 66 %, below 90 %.
		for i := 0; i < 20; i++ {
			created := now.Add(-3 * time.Hour)
			o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: w.tenant.ID, SourceID: src.ID, Provider: "hotmart",
				ExternalID: "HP" + strconv.Itoa(i), EventKey: "paid", Status: "paid", OccurredAt: created, AmountMinor: 100, Currency: "BRL", ReceivedAt: created})
			if err != nil {
				t.Fatal(err)
			}
			state := store.DeliveryDelivered
			switch {
			case i >= 18:
				state = store.DeliverySkipped
			case i >= 12:
				state = store.DeliveryDead
			}
			if _, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: w.tenant.ID, OrderID: o.ID, DestinationID: w.meta.ID,
				EventName: "Purchase", EventID: o.ExternalID, State: state, CreatedAt: created}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		got := map[string]store.Alert{}
		all, err := st.ListAlerts(ctx, store.AlertFilter{TenantID: w.tenant.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			got[a.Kind+" "+a.Subject] = a
		}
		want := map[string]string{
			store.AlertGatewaySilent + " " + src.ID + ":hotmart": old.Format(time.RFC3339),
			store.AlertSnippetSilent + " " + src.ID:              old.Format(time.RFC3339),
			store.AlertDeliveredShare + " " + w.meta.ID:          "12/18",
		}
		if len(got) != len(want) {
			t.Errorf("alerts: %+v, want %v", got, want)
		}
		for k, detail := range want {
			if a, ok := got[k]; !ok || a.Detail != detail {
				t.Errorf("%s: %+v, want detail %q", k, a, detail)
			}
		}
		loc, _ := time.LoadLocation(w.tenant.TimeZone)
		share := got[store.AlertDeliveredShare+" "+w.meta.ID]
		if txt := alert.Text("pt-BR", share, store.AlertSettings{}, loc); !strings.Contains(txt, "Só 66% das compras das últimas 24 horas chegaram a “Pixel loja” (12 de 18), abaixo do seu limite de 90%") {
			t.Errorf("pt-BR text: %s", txt)
		}
		if txt := alert.Text("en", got[store.AlertGatewaySilent+" "+src.ID+":hotmart"], store.AlertSettings{}, loc); !strings.Contains(txt, "No webhook from hotmart has reached “Loja” since "+alert.FormatTime("en", old, loc)) {
			t.Errorf("en text: %s", txt)
		}

		// Turning a kind off closes its open alert (without a notice) and raises no more.
		if err := st.PutAlertSettings(ctx, w.tenant.ID, store.AlertSettings{Off: []string{store.AlertSnippetSilent}}); err != nil {
			t.Fatal(err)
		}
		before := pending(t, st)
		if err := w.svc.CheckTenant(ctx, w.tenant.ID); err != nil {
			t.Fatal(err)
		}
		open, _ := st.ListAlerts(ctx, store.AlertFilter{TenantID: w.tenant.ID, Open: true})
		for _, a := range open {
			if a.Kind == store.AlertSnippetSilent {
				t.Errorf("snippet alert still open after the kind was turned off")
			}
		}
		if len(open) != 2 || pending(t, st) != before {
			t.Errorf("open %d (want 2), notices queued %d → %d (want none)", len(open), before, pending(t, st))
		}
	})
}

// Every kind has a title and both texts in both languages, with no placeholder left unfilled.
func TestTexts(t *testing.T) {
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	at := time.Date(2026, 12, 2, 15, 4, 0, 0, time.UTC)
	details := map[string]string{store.AlertDestinationUnhealthy: "invalid_token", store.AlertDeliveredShare: "5/10",
		store.AlertGatewaySilent: at.Add(-30 * time.Hour).Format(time.RFC3339), store.AlertSnippetSilent: at.Add(-30 * time.Hour).Format(time.RFC3339)}
	for _, kind := range store.AlertKinds {
		a := store.Alert{ID: "1", Kind: kind, Subject: "src:hotmart", SubjectName: "Loja", Detail: details[kind], RaisedAt: at}
		for _, lang := range alert.Languages {
			if alert.Title(lang, kind) == kind {
				t.Errorf("%s: no title in %s", kind, lang)
			}
			for _, resolvedAt := range []*time.Time{nil, &at} {
				a.ResolvedAt = resolvedAt
				txt := alert.Text(lang, a, store.AlertSettings{}, loc)
				if strings.ContainsAny(txt, "{}") || txt == kind || !strings.Contains(txt, "Loja") {
					t.Errorf("%s %s (resolved %v): %q", kind, lang, resolvedAt != nil, txt)
				}
				if !strings.Contains(txt, alert.FormatTime(lang, at, loc)) && resolvedAt != nil {
					t.Errorf("%s %s: the time is not in the tenant's zone: %q", kind, lang, txt)
				}
			}
		}
		if alert.Text("pt-BR", a, store.AlertSettings{}, loc) == alert.Text("en", a, store.AlertSettings{}, loc) {
			t.Errorf("%s: the same text in both languages", kind)
		}
	}
}

func TestParseRecipients(t *testing.T) {
	got, err := alert.ParseRecipients(" Ops@Example.com, b@example.com\nc@example.com; ")
	if err != nil || strings.Join(got, " ") != "ops@example.com b@example.com c@example.com" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"not-an-address", "a@example.com, Bob <b@example.com>", "x@y.z\r\nBcc: evil@example.com:"} {
		if _, err := alert.ParseRecipients(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// When the server offers STARTTLS, Hub upgrades before authenticating: the password and the
// message cross the network encrypted (the server's certificate checked against the trusted one).
func TestSMTPStartTLS(t *testing.T) {
	ts := httptest.NewTLSServer(nil) // its certificate (for 127.0.0.1) and a pool that trusts it
	t.Cleanup(ts.Close)
	srv := newSMTPServer(t)
	srv.tls = &tls.Config{Certificates: ts.TLS.Certificates}
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	m := &alert.SMTP{Config: config.SMTP{Host: "127.0.0.1", Port: srv.port(), User: "hub", Password: smtpPassword, From: "alerts@example.com"},
		TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	if err := m.Send(context.Background(), []string{"ops@example.com"}, "Hub — teste ção", "Olá, ação.\nLinha 2."); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	used, auths := srv.tlsUsed, append([]string(nil), srv.auths...)
	srv.mu.Unlock()
	got := srv.received()
	if !used || len(auths) != 1 || len(got) != 1 {
		t.Fatalf("STARTTLS used %v, auths %d, messages %d", used, len(auths), len(got))
	}
	if b := got[0].body(t); !strings.Contains(b, "Olá, ação.") {
		t.Errorf("body: %q", b)
	}
	// A certificate Hub does not trust stops the send before the password is sent.
	srv2 := newSMTPServer(t)
	srv2.tls = &tls.Config{Certificates: ts.TLS.Certificates}
	m.Config.Port = srv2.port()
	m.TLS = nil // the system roots, which do not trust the test certificate
	err := m.Send(context.Background(), []string{"ops@example.com"}, "x", "y")
	srv2.mu.Lock()
	n := len(srv2.auths)
	srv2.mu.Unlock()
	if err == nil || n != 0 || strings.Contains(err.Error(), smtpPassword) {
		t.Errorf("untrusted certificate: err %v, auths %d", err, n)
	}
}
