package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/alert"
	"github.com/hubtrack/hub/internal/store"
)

type alertAnswer struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Subject     string            `json:"subject"`
	SubjectName string            `json:"subject_name"`
	Detail      string            `json:"detail"`
	State       string            `json:"state"`
	RaisedAt    time.Time         `json:"raised_at"`
	ResolvedAt  *time.Time        `json:"resolved_at"`
	Text        map[string]string `json:"text"`
}

type alertPage struct {
	Items      []alertAnswer `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// TestAlerts reads a tenant's alerts with a read-only key: open and resolved, filtered, paged,
// one by id, with the sentence in both languages exactly as the e-mail notice writes it.
func TestAlerts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		ctx := context.Background()
		if err := st.SetTenantTimeZone(ctx, a.ID, "America/Sao_Paulo"); err != nil {
			t.Fatal(err)
		}
		set := store.AlertSettings{DeliveredSharePercent: 80, WindowHours: 12, GatewaySilentHours: 6}
		if err := st.PutAlertSettings(ctx, a.ID, set); err != nil {
			t.Fatal(err)
		}
		raisedAt := time.Date(2026, 3, 10, 14, 5, 0, 0, time.UTC)
		raise := func(kind, subject, detail string) store.Alert {
			t.Helper()
			al, ok, err := st.RaiseAlert(ctx, store.Alert{TenantID: a.ID, Kind: kind, Subject: subject, SubjectName: "Loja alpha",
				Detail: detail, RaisedAt: raisedAt})
			if err != nil || !ok {
				t.Fatalf("raise %s: %v (raised %v)", kind, err, ok)
			}
			return al
		}
		// a.Alert (destination_unhealthy) is the oldest; share is resolved; silent stays open.
		share := raise(store.AlertDeliveredShare, a.Destination.ID, "12/18")
		silent := raise(store.AlertGatewaySilent, a.Source.ID+":hotmart", "2026-03-10T01:00:00Z")
		if done, err := st.ResolveAlert(ctx, a.ID, share.ID, raisedAt.Add(3*time.Hour)); err != nil || !done {
			t.Fatalf("resolve: %v %v", err, done)
		}
		newestFirst := []string{silent.ID, share.ID, a.Alert.ID}

		// All of them (the default), newest first, each as the document says.
		r := e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts", nil)
		var raw map[string]any
		r.json(t, &raw)
		checkSchema(t, "AlertPage", raw)
		for _, it := range raw["items"].([]any) {
			checkSchema(t, "Alert", it.(map[string]any))
		}
		var all alertPage
		r.json(t, &all)
		if got := alertIDs(all.Items); !slices.Equal(got, newestFirst) || all.NextCursor != "" {
			t.Fatalf("alerts %v (next %q), want %v", got, all.NextCursor, newestFirst)
		}
		if all2 := e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts?state=all", nil); string(all2.Body) != string(r.Body) {
			t.Errorf("state=all differs from the default:\n%s\n%s", all2.Body, r.Body)
		}
		byID := map[string]alertAnswer{}
		for _, it := range all.Items {
			byID[it.ID] = it
		}
		if s := byID[share.ID]; s.State != "resolved" || s.ResolvedAt == nil || !s.ResolvedAt.Equal(raisedAt.Add(3*time.Hour)) ||
			s.Kind != store.AlertDeliveredShare || s.Subject != a.Destination.ID || s.SubjectName != "Loja alpha" || s.Detail != "12/18" ||
			!s.RaisedAt.Equal(raisedAt) {
			t.Errorf("resolved alert: %+v", s)
		}
		if s := byID[silent.ID]; s.State != "open" || s.ResolvedAt != nil {
			t.Errorf("open alert: %+v", s)
		}
		// Times are RFC 3339 in UTC, and an open alert says resolved_at: null.
		body := string(r.Body)
		if !strings.Contains(body, `"raised_at":"2026-03-10T14:05:00Z"`) || !strings.Contains(body, `"resolved_at":"2026-03-10T17:05:00Z"`) ||
			!strings.Contains(body, `"resolved_at":null`) {
			t.Errorf("times: %s", body)
		}

		// The sentence in both languages is the e-mail notice's, in the tenant's zone and with its
		// thresholds.
		tn, err := st.GetTenant(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.ListAlerts(ctx, store.AlertFilter{TenantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stored {
			got := byID[s.ID].Text
			_, mail := alert.Mail(s, set, alert.Zone(tn), tn.TimeZone)
			for _, lang := range []string{"en", "pt-BR"} {
				if got[lang] == "" || !strings.Contains(mail, got[lang]) {
					t.Errorf("alert %s (%s) text[%s] = %q, not in the e-mail:\n%s", s.ID, s.Kind, lang, got[lang], mail)
				}
			}
			if len(got) != 2 || got["en"] == got["pt-BR"] {
				t.Errorf("alert %s: text %v, want en and pt-BR", s.ID, got)
			}
		}
		if txt := byID[share.ID].Text["pt-BR"]; !strings.Contains(txt, "Resolvido em 10/03/2026 às 14:05") || !strings.Contains(txt, "80%") {
			t.Errorf("resolved share in pt-BR: %q (want the tenant's zone and threshold)", txt)
		}
		if txt := byID[silent.ID].Text["en"]; !strings.Contains(txt, "since Mar 9, 2026 at 22:00 (6 hours or more)") {
			t.Errorf("silent gateway in en: %q", txt)
		}

		// lang picks one language.
		var one alertPage
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts?lang=pt-BR", nil).json(t, &one)
		for _, it := range one.Items {
			if len(it.Text) != 1 || it.Text["pt-BR"] != byID[it.ID].Text["pt-BR"] {
				t.Errorf("lang=pt-BR: %v", it.Text)
			}
		}

		// Only the open ones.
		var open alertPage
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts?state=open", nil).json(t, &open)
		if got := alertIDs(open.Items); !slices.Equal(got, []string{silent.ID, a.Alert.ID}) {
			t.Errorf("open alerts %v, want %v", got, []string{silent.ID, a.Alert.ID})
		}

		// Paging one by one walks the same list and ends without a cursor.
		var walked []string
		cursor := ""
		for range 10 {
			var pg alertPage
			e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts?limit=1&cursor="+url.QueryEscape(cursor), nil).json(t, &pg)
			walked = append(walked, alertIDs(pg.Items)...)
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(walked, newestFirst) {
			t.Errorf("paged %v, want %v", walked, newestFirst)
		}
		var page2 alertPage
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts?state=open&limit=1&cursor="+silent.ID, nil).json(t, &page2)
		if got := alertIDs(page2.Items); !slices.Equal(got, []string{a.Alert.ID}) || page2.NextCursor != "" {
			t.Errorf("open alerts after %s: %v (next %q)", silent.ID, got, page2.NextCursor)
		}

		// Bad parameters are a 400 naming the field.
		for q, field := range map[string]string{
			"state=closed":                       "state",
			"limit=0":                            "limit",
			"limit=501":                          "limit",
			"limit=ten":                          "limit",
			"cursor=" + strings.Repeat("x", 200): "cursor",
			"lang=fr":                            "lang",
			"status=open":                        "status",
		} {
			p := e.must(http.StatusBadRequest, a.ReadKey, "GET", "/api/v1/alerts?"+q, nil).problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != field || p.Errors[0].Reason == "" {
				t.Errorf("?%s: errors %+v, want one on %s", q, p.Errors, field)
			}
		}

		// One alert by id, the same as in the list; another tenant's is 404.
		var got alertAnswer
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts/"+share.ID, nil).json(t, &got)
		if want := byID[share.ID]; !sameAlert(got, want) {
			t.Errorf("GET /alerts/%s = %+v, want %+v", share.ID, got, want)
		}
		var rawOne map[string]any
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/alerts/"+silent.ID, nil).json(t, &rawOne)
		checkSchema(t, "Alert", rawOne)
		e.must(http.StatusNotFound, a.ReadKey, "GET", "/api/v1/alerts/"+b.Alert.ID, nil).problem(t)
		e.must(http.StatusNotFound, a.ReadKey, "GET", "/api/v1/alerts/no-such-alert", nil).problem(t)
		var bList alertPage
		e.must(http.StatusOK, b.ReadKey, "GET", "/api/v1/alerts", nil).json(t, &bList)
		if got := alertIDs(bList.Items); !slices.Equal(got, []string{b.Alert.ID}) {
			t.Errorf("tenant B's alerts %v, want only its own %s", got, b.Alert.ID)
		}

		// Without a key, nothing.
		e.must(http.StatusUnauthorized, "", "GET", "/api/v1/alerts", nil)
	})
}

func alertIDs(items []alertAnswer) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func sameAlert(a, b alertAnswer) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestAlertsShowNoRecipients: who gets a tenant's alert e-mails (the admins' addresses, or the
// list an admin chose) is other people's contact data, which a read_only key may not see. The
// alerts API answers a read_only key, so no alert it shows carries a recipient, while the list
// is empty and once one is set.
func TestAlertsShowNoRecipients(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		ctx := context.Background()
		for _, u := range []store.User{
			{TenantID: a.ID, Email: "ana.admin@example.com", Role: store.RoleAdmin},
			{TenantID: a.ID, Email: "rui.leitor@example.com", Role: store.RoleReadOnly},
		} {
			u.PasswordHash, u.CreatedAt = "h", time.Now()
			if _, err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		addrs := []string{"ana.admin@example.com", "ops@example.com"}
		for _, set := range []store.AlertSettings{{}, {Recipients: []string{"ops@example.com"}}} {
			if err := st.PutAlertSettings(ctx, a.ID, set); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/api/v1/alerts", "/api/v1/alerts?state=open", "/api/v1/alerts?lang=pt-BR", "/api/v1/alerts/" + a.Alert.ID} {
				r := e.must(http.StatusOK, a.ReadKey, "GET", path, nil)
				for _, addr := range addrs {
					if contains(r.Body, addr) || contains(r.Body, strings.Split(addr, "@")[0]) {
						t.Errorf("recipients %v: GET %s with a read_only key shows %s: %s", set.Recipients, path, addr, r.Body)
					}
				}
			}
		}
	})
}
