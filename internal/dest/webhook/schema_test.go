package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
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

// openAPIPath is the API's OpenAPI document. Its components.schemas.OutgoingWebhook, with the
// OutgoingWebhook* schemas it references, is the payload's one definition (the document's
// webhooks.event posts it); the validator below checks payloads against it.
const openAPIPath = "../../api/openapi.json"

// eventSchema is the payload's schema in the OpenAPI document's components.
const eventSchema = "OutgoingWebhook"

// schemaPath is the standalone JSON Schema receivers read, generated from the OpenAPI document
// (publishedSchema) and checked against it by TestPublishedSchemaIsGenerated.
const schemaPath = "../../../docs/destinations/webhooks.schema.json"

// validator checks a JSON value against the subset of JSON Schema 2020-12 the payload's schema
// uses. A keyword outside the subset fails the test, so the document cannot say more than Hub
// checks. root is the whole document ($ref is a JSON pointer into it); event is the payload's
// schema.
type validator struct{ root, event map[string]any }

var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "$defs": true, "title": true, "description": true}

// resolve follows a local $ref ("#/components/schemas/X", "#/$defs/x").
func (v validator) resolve(ref string) (map[string]any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	cur := any(v.root)
	for _, part := range strings.Split(ptr, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[part]
	}
	def, ok := cur.(map[string]any)
	return def, ok
}

func (v validator) check(schema map[string]any, val any, path string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	for k, kv := range schema {
		switch k {
		case "$ref":
			ref, _ := kv.(string)
			def, ok := v.resolve(ref)
			if !ok {
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

func readJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return root
}

// loadSchema returns the validator of the payload's one definition, in the OpenAPI document.
func loadSchema(t *testing.T) validator {
	t.Helper()
	root := readJSON(t, openAPIPath)
	event, ok := root["components"].(map[string]any)["schemas"].(map[string]any)[eventSchema].(map[string]any)
	if !ok {
		t.Fatalf("%s: no components.schemas.%s", openAPIPath, eventSchema)
	}
	return validator{root: root, event: event}
}

// loadPublished returns the validator of the generated standalone schema.
func loadPublished(t *testing.T) validator {
	t.Helper()
	root := readJSON(t, schemaPath)
	return validator{root: root, event: root}
}

func (v validator) validate(body []byte) []string {
	var val any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&val); err != nil {
		return []string{err.Error()}
	}
	return v.check(v.event, val, "$")
}

// componentRef matches a reference to one of the payload's schemas in the OpenAPI document.
var componentRef = regexp.MustCompile(`"#/components/schemas/([A-Za-z0-9]+)"`)

// publishedSchema builds the standalone JSON Schema receivers read from the OpenAPI document:
// the payload's schema at the root and every schema it references under $defs, named without
// the OutgoingWebhook prefix ("OutgoingWebhookOrder" is "order"). Keys keep the OpenAPI
// document's order.
func publishedSchema(openapi []byte) ([]byte, error) {
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return nil, err
	}
	schemas := doc.Components.Schemas
	event, ok := schemas[eventSchema]
	if !ok {
		return nil, fmt.Errorf("no components.schemas.%s", eventSchema)
	}
	// The schemas the payload's schema references, directly or not.
	defs := map[string]string{} // component -> $defs name
	todo := []json.RawMessage{event}
	for len(todo) > 0 {
		raw := todo[0]
		todo = todo[1:]
		for _, m := range componentRef.FindAllSubmatch(raw, -1) {
			name := string(m[1])
			if _, seen := defs[name]; seen {
				continue
			}
			short, ok := strings.CutPrefix(name, eventSchema)
			if !ok || short == "" || schemas[name] == nil {
				return nil, fmt.Errorf("the payload's schema references %s, which is not one of its own %s* schemas", name, eventSchema)
			}
			defs[name] = strings.ToLower(short[:1]) + short[1:]
			todo = append(todo, schemas[name])
		}
	}
	local := func(raw json.RawMessage) []byte {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			panic(err) // it came from a valid document
		}
		return componentRef.ReplaceAllFunc(b.Bytes(), func(m []byte) []byte {
			return []byte(`"#/$defs/` + defs[string(componentRef.FindSubmatch(m)[1])] + `"`)
		})
	}
	var b bytes.Buffer
	b.WriteString(`{"$schema":"https://json-schema.org/draft/2020-12/schema",` +
		`"$id":"https://github.com/hubtrack/hub/docs/destinations/webhooks.schema.json",` +
		`"$comment":"Generated from components.schemas.` + eventSchema + ` of internal/api/openapi.json` +
		` by go test ./internal/dest/webhook -run TestPublishedSchemaIsGenerated -update: edit that document, not this file.",`)
	root := local(event)
	b.Write(root[1 : len(root)-1])
	b.WriteString(`,"$defs":{`)
	names := slices.Sorted(maps.Keys(defs))
	for i, name := range names {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:", defs[name])
		b.Write(local(schemas[name]))
	}
	b.WriteString("}}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteString("\n")
	return out.Bytes(), nil
}

// The published schema is what the OpenAPI document defines: it fails when either is edited
// alone (`-update` rewrites the published file from the document).
func TestPublishedSchemaIsGenerated(t *testing.T) {
	t.Parallel()
	openapi, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := publishedSchema(openapi)
	if err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from components.schemas.%s of %s: edit the OpenAPI document and run "+
			"`go test ./internal/dest/webhook -run TestPublishedSchemaIsGenerated -update`", schemaPath, eventSchema, openAPIPath)
	}
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
			{domain.EventOrderChargebackWon, "chargeback_won", "CHARGEBACK_WON"},
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
		raised := dest.Event{Name: domain.EventAlertRaised, EventID: "alert_raised:019d", EventTime: at,
			Alert: &dest.AlertNotice{ID: "019d", Kind: "destination_unhealthy", State: "raised", Subject: "019b", SubjectName: "Pixel loja",
				Detail: "invalid_token", RaisedAt: at, Text: map[string]string{"en": "The destination stopped.", "pt-BR": "O destino parou."}}}
		add("alert.raised", pii, raised)
		resolved := raised
		resolvedAt := at.Add(time.Hour)
		resolved.Name, resolved.EventID, resolved.EventTime = domain.EventAlertResolved, "alert_resolved:019d", resolvedAt
		a := *raised.Alert
		a.State, a.ResolvedAt = "resolved", &resolvedAt
		resolved.Alert = &a
		add("alert.resolved", pii, resolved)
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
	v, published := loadSchema(t), loadPublished(t)
	seen := map[string]bool{}
	for name, body := range payloads(t) {
		if errs := v.validate(body); len(errs) > 0 {
			t.Errorf("%s: %s\n%s", name, strings.Join(errs, "\n"), body)
		}
		// The generated file says the same (TestPublishedSchemaIsGenerated checks it byte for
		// byte; this checks the generator kept its meaning).
		if errs := published.validate(body); len(errs) > 0 {
			t.Errorf("%s, against %s: %s", name, schemaPath, strings.Join(errs, "\n"))
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
	for _, e := range v.event["properties"].(map[string]any)["type"].(map[string]any)["enum"].([]any) {
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
	v, published := loadSchema(t), loadPublished(t)
	for _, bad := range []string{
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"status":"paid"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid","secret":"x"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid","amount_minor":"197"}}`,
		`{"type":"order.paid","version":2,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid"}}`,
		`{"type":"delivery.dead","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1"}}`,
		`{"type":"alert.raised","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"alert":{"id":"1","kind":"snippet_silent","state":"raised","subject":"s","raised_at":"2026-11-30T18:04:05Z","text":{"en":"x"}}}}`,
		`{"type":"order.shipped","version":1,"id":"x","timestamp":"2026-11-30T18:04:05Z","data":{"order_id":"1","status":"paid"}}`,
		`{"type":"order.paid","version":1,"id":"x","timestamp":"yesterday","data":{"order_id":"1","status":"paid"}}`,
	} {
		if errs := v.validate([]byte(bad)); len(errs) == 0 {
			t.Errorf("accepted %s", bad)
		}
		if errs := published.validate([]byte(bad)); len(errs) == 0 {
			t.Errorf("%s accepted %s", schemaPath, bad)
		}
	}
}
