package fakemeta_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

const validEvent = `{"event_name":"Purchase","event_time":%d,"event_id":"%s","action_source":"website",` +
	`"event_source_url":"https://x.example/obrigado","user_data":{"em":["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"],` +
	`"client_user_agent":"UA","client_ip_address":"2001:db8::1"}}`

func body(ids ...string) string {
	evs := make([]string, len(ids))
	for i, id := range ids {
		evs[i] = fmt.Sprintf(validEvent, time.Now().Unix()-60, id)
	}
	return `{"data":[` + strings.Join(evs, ",") + `],"partner_agent":"hub-test","access_token":"t"}`
}

type client struct {
	t   *testing.T
	url string
}

func start(t *testing.T) (*fakemeta.Server, client) {
	t.Helper()
	fake := fakemeta.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Cleanup(fake.Close)
	return fake, client{t, srv.URL}
}

func (c client) do(method, path, contentType, b string) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(b))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

func (c client) post(b string) (int, map[string]any) {
	c.t.Helper()
	status, _, out := c.do("POST", "/v25.0/123/events", "application/json", b)
	return status, out
}

func errCode(out map[string]any) (code, sub float64) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(float64)
	sub, _ = e["error_subcode"].(float64)
	return code, sub
}

func TestAcceptsAndAnswersLikeMeta(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	status, out := c.post(body("a", "b"))
	if status != 200 || out["events_received"] != float64(2) || out["fbtrace_id"] == "" {
		t.Fatalf("status %d, body %v", status, out)
	}
	if msgs, ok := out["messages"].([]any); !ok || len(msgs) != 0 {
		t.Errorf("messages = %v, want []", out["messages"])
	}
	c.post(body("a"))
	if got := fake.Accepted(); got["a"] != 2 || got["b"] != 1 {
		t.Errorf("Accepted = %v", got)
	}
	evs := fake.Events()
	if len(evs) != 3 || evs[0].PixelID != "123" || evs[0].EventName != "Purchase" || len(evs[0].Raw) == 0 {
		t.Errorf("Events = %+v", evs)
	}

	status, _, listing := c.do("GET", "/_fake/events", "", "")
	if status != 200 {
		t.Fatalf("GET /_fake/events: %d", status)
	}
	if dup, _ := json.Marshal(listing["duplicates"]); string(dup) != `["a"]` {
		t.Errorf("duplicates = %s", dup)
	}
	if n, _ := listing["events"].([]any); len(n) != 3 || listing["requests"] != float64(2) {
		t.Errorf("listing = %v", listing)
	}

	if status, _, _ := c.do("POST", "/_fake/reset", "", ""); status != http.StatusNoContent || len(fake.Accepted()) != 0 {
		t.Errorf("reset: %d, %v", status, fake.Accepted())
	}
}

func TestFormEncodedRequest(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	form := url.Values{
		"data":         {"[" + fmt.Sprintf(validEvent, time.Now().Unix(), "f1") + "]"},
		"access_token": {"tok"},
	}
	status, _, out := c.do("POST", "/v25.0/123/events", "application/x-www-form-urlencoded", form.Encode())
	if status != 200 || fake.Accepted()["f1"] != 1 {
		t.Errorf("status %d, %v", status, out)
	}
}

func TestValidatesRequests(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-8 * 24 * time.Hour).Unix()
	tests := []struct {
		name, method, path, body string
		status                   int
		code, sub                float64
	}{
		{"no token", "POST", "/v25.0/123/events", strings.Replace(body("a"), `,"access_token":"t"`, ``, 1), 400, 190, 0},
		{"token in the URL", "POST", "/v25.0/123/events?access_token=t", body("a"), 400, 100, 0},
		{"token in the URL and the body", "POST", "/v25.0/123/events?x=1&access_token=", body("a"), 400, 100, 0},
		{"bad path", "POST", "/v25.0/abc/events", body("a"), 404, 100, 0},
		{"no version", "POST", "/123/events", body("a"), 404, 100, 0},
		{"GET", "GET", "/v25.0/123/events", "", 400, 100, 0},
		{"no data", "POST", "/v25.0/123/events", `{"partner_agent":"x"}`, 400, 100, 0},
		{"empty data", "POST", "/v25.0/123/events", `{"data":[],"access_token":"t"}`, 400, 100, 0},
		{"not json", "POST", "/v25.0/123/events", `data=`, 400, 100, 0},
		{"stale", "POST", "/v25.0/123/events", `{"access_token":"t","data":[` + fmt.Sprintf(validEvent, old, "s") + `]}`, 400, 100, 2804003},
		{"no event name", "POST", "/v25.0/123/events", `{"access_token":"t","data":[{"event_time":1,"action_source":"other","user_data":{"fbp":"x"}}]}`, 400, 100, 0},
		{"bad action source", "POST", "/v25.0/123/events", strings.Replace(body("a"), `"website"`, `"tv"`, 1), 400, 100, 0},
		{"website without url", "POST", "/v25.0/123/events", strings.Replace(body("a"), `"event_source_url":"https://x.example/obrigado",`, ``, 1), 400, 100, 0},
		{"unhashed email", "POST", "/v25.0/123/events", strings.Replace(body("a"), `"em":["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"]`, `"em":["maria@example.com"]`, 1), 400, 100, 0},
		{"one bad event fails the batch", "POST", "/v25.0/123/events", strings.Replace(body("a", "b"), `"event_name":"Purchase"`, `"event_name":""`, 1), 400, 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c := start(t)
			status, _, out := c.do(tt.method, tt.path, "application/json", tt.body)
			code, sub := errCode(out)
			if status != tt.status || code != tt.code || sub != tt.sub {
				t.Errorf("got %d code %v/%v (%v), want %d code %v/%v", status, code, sub, out, tt.status, tt.code, tt.sub)
			}
			if len(fake.Accepted()) != 0 {
				t.Error("nothing may be accepted")
			}
			if inURL := strings.Contains(tt.path, "access_token"); (fake.TokensInURL() == 1) != inURL {
				t.Errorf("TokensInURL = %d, token in the URL: %t", fake.TokensInURL(), inURL)
			}
		})
	}
}

func TestStrictToken(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	fake.Token = "right"
	status, _, out := c.do("POST", "/v25.0/123/events", "application/json", strings.Replace(body("a"), `"access_token":"t"`, `"access_token":"wrong"`, 1))
	if code, _ := errCode(out); status != 400 || code != 190 {
		t.Errorf("wrong token: %d %v", status, out)
	}
	if status, _, _ := c.do("POST", "/v25.0/123/events", "application/json", strings.Replace(body("a"), `"access_token":"t"`, `"access_token":"right"`, 1)); status != 200 {
		t.Errorf("right token: %d", status)
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode   string
		status int
		code   float64
	}{
		{"429", 429, 4},
		{"500", 500, 2},
		{"invalid_token", 400, 190},
		{"invalid_param", 400, 100},
		{"malformed", 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			fake, c := start(t)
			if status, _, _ := c.do("POST", "/_fake/faults", "application/json", `{"mode":"`+tt.mode+`","count":2}`); status != 200 {
				t.Fatalf("POST /_fake/faults: %d", status)
			}
			for i := range 2 {
				status, h, out := c.do("POST", "/v25.0/123/events", "application/json", body("a"))
				if code, _ := errCode(out); status != tt.status || code != tt.code {
					t.Errorf("request %d: %d code %v, want %d code %v", i, status, code, tt.status, tt.code)
				}
				if tt.mode == "429" && h.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				if tt.mode == "malformed" && out != nil {
					t.Errorf("malformed body parsed: %v", out)
				}
			}
			if status, _ := c.post(body("a")); status != 200 {
				t.Errorf("after count faults: %d, want 200", status)
			}
			if got := fake.Accepted(); got["a"] != 1 {
				t.Errorf("Accepted = %v", got)
			}
		})
	}
}

func TestFaultRateAndClear(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	if err := fake.Inject(fakemeta.Fault{Mode: "500", Rate: 0.3}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 100 {
		if status, _ := c.post(body("r")); status == 500 {
			failed++
		}
	}
	if failed < 10 || failed > 60 {
		t.Errorf("rate 0.3 failed %d of 100", failed)
	}
	if status, _, _ := c.do("POST", "/_fake/faults", "application/json", `{"mode":"none"}`); status != 200 {
		t.Fatal("clear")
	}
	for range 10 {
		if status, _ := c.post(body("r")); status != 200 {
			t.Fatalf("after clear: %d", status)
		}
	}
	for _, bad := range []string{`{"mode":"boom"}`, `{"mode":"500","rate":2}`, `{"mode":"500","count":-1}`, `{"mode":"500","extra":1}`, `nope`} {
		if status, _, _ := c.do("POST", "/_fake/faults", "application/json", bad); status != 400 {
			t.Errorf("POST /_fake/faults %s: %d, want 400", bad, status)
		}
	}
}

func TestTimeoutFaultHoldsUntilTheClientGivesUp(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	if err := fake.InjectFault("timeout", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", c.url+"/v25.0/123/events", strings.NewReader(body("a")))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("want the client to time out")
	}
	if status, _ := c.post(body("a")); status != 200 {
		t.Errorf("after the timeout fault: %d", status)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	fake := fakemeta.New()
	go func() { done <- fake.Serve(ctx, ln) }()

	c := client{t, "http://" + ln.Addr().String()}
	if status, _ := c.post(body("served")); status != 200 {
		t.Fatalf("status %d", status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	t.Parallel()
	if err := fakemeta.ListenAndServe(context.Background(), "256.0.0.1:bad"); err == nil {
		t.Error("want an error")
	}
}
