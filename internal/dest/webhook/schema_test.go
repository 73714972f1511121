package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/domain"
)

// schemaPath is the payload's published schema, the document receivers read.
const schemaPath = "../../../docs/destinations/webhooks.schema.json"

// validator checks a JSON value against the subset of JSON Schema 2020-12 the published
// document uses. A keyword outside the subset fails the test, so the document cannot say more
// than Hub checks.
type validator struct{ root map[string]any }

var annotations = map[string]bool{"$schema": true, "$id": true, "$defs": true, "title": true, "description": true}

func (v validator) check(schema map[string]any, val any, path string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	for k, kv := range schema {
		switch k {
		case "$ref":
			ref, _ := kv.(string)
			name, ok := strings.CutPrefix(ref, "#/$defs/")
			def, found := v.root["$defs"].(map[string]any)[name].(map[string]any)
			if !ok || !found {
				fail("unresolvable $ref %q", ref)
				continue
			}
			errs = append(errs, v.check(def, val, path)...)
		case "type":
			if !hasType(val, kv.(string)) {
				fail("want %s, got %T", kv, val)
			}
		case "required":
			obj, ok := val.(map[string]any)
			if !ok {
				continue
			}
			for _, r := range kv.([]any) {
				if _, ok := obj[r.(string)]; !ok {
					fail("missing required %q", r)
				}
			}
		case "properties":
			obj, ok := val.(map[string]any)
			if !ok {
				continue
			}
			for name, sub := range kv.(map[string]any) {
				if fv, ok := obj[name]; ok {
					errs = append(errs, v.check(sub.(map[string]any), fv, path+"."+name)...)
				}
			}
		case "additionalProperties":
			obj, ok := val.(map[string]any)
			if !ok || kv != false {
				if kv != false {
					fail("additionalProperties other than false is outside the subset")
				}
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name := range obj {
				if _, ok := props[name]; !ok {
					fail("property %q is not in the schema", name)
				}
			}
		case "items":
			arr, ok := val.([]any)
			if !ok {
				continue
			}
			for i, it := range arr {
				errs = append(errs, v.check(kv.(map[string]any), it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		case "enum":
			if !slices.ContainsFunc(kv.([]any), func(e any) bool { return e == val }) {
				fail("%v is not one of %v", val, kv)
			}
		case "const":
			if kv != val {
				fail("%v is not %v", val, kv)
			}
		case "minLength":
			if s, ok := val.(string); ok && float64(len([]rune(s))) < kv.(float64) {
				fail("shorter than %v", kv)
			}
		case "minimum":
			if n, ok := val.(float64); ok && n < kv.(float64) {
				fail("%v is below %v", n, kv)
			}
		case "pattern":
			if s, ok := val.(string); ok && !regexp.MustCompile(kv.(string)).MatchString(s) {
				fail("%q does not match %s", s, kv)
			}
		case "format":
			if s, ok := val.(string); ok && kv == "date-time" {
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					fail("%q is not an RFC 3339 date-time", s)
				}
			}
		case "oneOf":
			matched := 0
			var why []string
			for _, alt := range kv.([]any) {
				e := v.check(alt.(map[string]any), val, path)
				if len(e) == 0 {
					matched++
				}
				why = append(why, e...)
			}
			if matched != 1 {
				fail("matches %d of oneOf's schemas, want exactly one: %v", matched, why)
			}
		default:
			if !annotations[k] {
				fail("keyword %q is outside the subset the test checks", k)
			}
		}
	}
	return errs
}

func hasType(val any, t string) bool {
	switch t {
	case "object":
		_, ok := val.(map[string]any)
		return ok
	case "array":
		_, ok := val.([]any)
		return ok
	case "string":
		_, ok := val.(string)
		return ok
	case "integer":
		n, ok := val.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := val.(float64)
		return ok
	case "boolean":
		_, ok := val.(bool)
		return ok
	}
	return false
}

func loadSchema(t *testing.T) validator {
	t.Helper()
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	return validator{root}
}

func (v validator) validate(body []byte) []string {
	var val any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&val); err != nil {
		return []string{err.Error()}
	}
	return v.check(v.root, val, "$")
}

// payloads builds one payload of every type the destination sends, with and without the
// buyer's data, as the delivery worker and the Test action fill their events.
func payloads(t *testing.T) map[string][]byte {
	t.Helper()
	at := time.Date(2026, 11, 30, 18, 4, 5, 0, time.UTC)
	paid := purchase(at)
	paid.User.FBCLID, paid.User.GCLID, paid.User.TTCLID = "IwAR2F4-dbP0l7Mn1", "Cj0KCQiA", "E.C.P.abc"
	paid.EventSourceURL = "https://loja.example.com.br/?utm_source=facebook&utm_campaign=black-friday"
	paid.Order = dest.Order{Gateway: "hotmart", Status: "paid",
		History: []dest.StatusChange{{Status: "waiting_payment", NativeStatus: "WAITING_PAYMENT", At: at.Add(-time.Hour)}, {Status: "paid", NativeStatus: "APPROVED", At: at}}}
	out := map[string][]byte{}
	add := func(key string, pii bool, ev dest.Event) {
		cfg := dest.Config{webhook.SettingURL: "https://crm.example.com/hub", webhook.SettingIncludePII: fmt.Sprint(pii)}
		body, err := webhook.New(dest.Env{}).Build(cfg, []dest.Event{ev})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out[fmt.Sprintf("%s pii=%v", key, pii)] = body
	}
	for _, pii := range []bool{false, true} {
		add("order.paid", pii, paid)
		add("order.paid bare", pii, purchase(at))
		for _, c := range []struct {
			name, status, native string
		}{
			{domain.EventOrderRefunded, "refunded", "REFUNDED"},
			{domain.EventOrderChargeback, "chargeback", "CHARGEBACK"},
			{domain.EventOrderCancelled, "cancelled", "CANCELED"},
		} {
			ev := paid
			ev.Name, ev.EventID = c.name, "hotmart:HP1:"+c.status
			ev.Order.Status = c.status
			ev.Order.History = append(slices.Clone(paid.Order.History), dest.StatusChange{Status: c.status, NativeStatus: c.native, At: at.Add(time.Hour)})
			add(c.name, pii, ev)
		}
		lead := dest.Event{Name: domain.EventLead, EventID: "lead-7f3a", EventTime: at, EventSourceURL: paid.EventSourceURL, User: paid.User}
		add("lead.created", pii, lead)
		dead := paid
		dead.Name, dead.EventID = domain.EventDeliveryDead, "delivery_dead:019a"
		dead.Dead = &dest.DeadDelivery{DeliveryID: "019a", DestinationID: "019b", DestinationType: "meta", DestinationName: "Pixel loja",
			EventName: domain.EventPurchase, EventID: paid.EventID, Reason: "invalid_token", Attempts: 3, DiedAt: at}
		add("delivery.dead", pii, dead)
		deadLead := lead
		deadLead.Name, deadLead.EventID = domain.EventDeliveryDead, "delivery_dead:019c"
		deadLead.Dead = &dest.DeadDelivery{DeliveryID: "019c", DestinationID: "019b", DestinationType: "tiktok",
			EventName: domain.EventLead, EventID: lead.EventID, Reason: "retries_exhausted: server_error", Attempts: 25, DiedAt: at}
		add("delivery.dead of a lead", pii, deadLead)
		test := purchase(at)
		test.Test = true
		add("test", pii, test)
	}
	return out
}

// Every payload the destination builds, of every type, validates against the published schema,
// and the schema names every type the destination sends.
func TestPayloadsMatchThePublishedSchema(t *testing.T) {
	t.Parallel()
	v := loadSchema(t)
	seen := map[string]bool{}
	for name, body := range payloads(t) {
		if errs := v.validate(body); len(errs) > 0 {
			t.Errorf("%s: %s\n%s", name, strings.Join(errs, "\n"), body)
		}
		var p struct{ Type string }
		_ = json.Unmarshal(body, &p)
		seen[p.Type] = true
	}
	for _, typ := range webhook.EventTypes() {
		if !seen[typ] {
			t.Errorf("no payload of type %s was checked", typ)
		}
	}
	var enum []string
	for _, e := range v.root["properties"].(map[string]any)["type"].(map[string]any)["enum"].([]any) {
		enum = append(enum, e.(string))
	}
	slices.Sort(enum)
	if !slices.Equal(enum, webhook.EventTypes()) {
		t.Errorf("the schema's types %v, the destination's %v", enum, webhook.EventTypes())
	}
}

// The validator is strict enough to matter: it refuses a payload missing a required field,
// with a field the schema does not name, or with a wrong type.
func TestSchemaValidatorRefuses(t *testing.T) {
	t.Parallel()
	v := loadSchema(t)
	for _, bad := range []string{
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"status":"paid"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid","secret":"x"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid","amount_minor":"197"}}`,
		`{"type":"order.paid","version":2,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid"}}`,
		`{"type":"delivery.dead","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1"}}`,
		`{"type":"order.shipped","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"yesterday","data":{"order_id":"1","status":"paid"}}`,
	} {
		if errs := v.validate([]byte(bad)); len(errs) == 0 {
			t.Errorf("accepted %s", bad)
		}
	}
}
