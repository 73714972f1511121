package main

import (
	"strings"
	"testing"
)

// `hub simulate purchase` reads the server's settings, refuses in words what it cannot do (an
// unknown gateway, one no source has enabled, a Meta destination without a test event code),
// and otherwise posts a signed test purchase through the webhook endpoint and prints its
// order, its match and its deliveries (queued: no server runs here).
func TestSimulatePurchase(t *testing.T) {
	t.Parallel()
	hub, _, tenant := inProcess(t)
	if _, err := hub("source", "create", "--tenant", tenant, "--name", "Loja", "--secret", "hotmart=my-hottok-1"); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{
		"--gateway nope":   `unknown --gateway "nope"`,
		"--gateway kiwify": "no source has kiwify enabled",
		"":                 "--gateway is required",
	} {
		a := append([]string{"simulate", "purchase"}, strings.Fields(args)...)
		if _, err := hub(a...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("simulate purchase %s: %v, want %q", args, err, want)
		}
	}
	if _, err := hub("destination", "add", "--tenant", tenant, "--type", "meta", "--name", "Pixel", "--config", `{"pixel_id":"123"}`, "--credentials", `{"access_token":"EAAx"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := hub("simulate", "purchase", "--gateway", "hotmart"); err == nil || !strings.Contains(err.Error(), `destination "Pixel" has no test event code`) {
		t.Errorf("with a live Meta destination: %v", err)
	}

	// A tenant whose Meta destination has a test event code.
	out, err := hub("tenant", "create", "--name", "beta")
	if err != nil {
		t.Fatal(err)
	}
	beta := field(t, out, "tenant ")
	out, err = hub("source", "create", "--tenant", beta, "--name", "Loja B", "--secret", "stripe=whsec_abc")
	if err != nil {
		t.Fatal(err)
	}
	srcB := field(t, out, "source ")
	if _, err := hub("destination", "add", "--tenant", beta, "--type", "meta", "--name", "Pixel B", "--config", `{"pixel_id":"123","test_event_code":"TEST42"}`, "--credentials", `{"access_token":"EAAx"}`); err != nil {
		t.Fatal(err)
	}
	out, err = hub("simulate", "purchase", "--gateway", "stripe", "--source", srcB, "--wait", "0s")
	if err != nil {
		t.Fatalf("simulate purchase: %v\n%s", err, out)
	}
	for _, want := range []string{"test purchase sent as stripe to source " + srcB, "accepted", "buyer teste@hub.invalid (a test)",
		"match: none (an orphan)", "Purchase to Pixel B (meta): pending", "still queued: a running hub", "open it: https://hub.example.com/orders/"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
