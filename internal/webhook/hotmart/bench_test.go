package hotmart

import (
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// benchBody is bench/delivery's purchase: what the delivery benchmark posts per order.
const benchBody = `{"id":"HP1-evt","creation_date":1764750000000,"event":"PURCHASE_APPROVED","version":"2.0.0","data":{"product":{"id":1234567,"ucode":"0d5b4c2a-1111-4222-8333-444455556666","name":"Curso Exemplo"},"buyer":{"email":"buyer.HP1@example.com","name":"Maria Exemplo Teste","first_name":"Maria","last_name":"Exemplo Teste","checkout_phone_code":"11","checkout_phone":"999998888","document":"00000000191","document_type":"CPF","address":{"country":"Brasil","country_iso":"BR","zipcode":"01310-100","state":"SP","city":"São Paulo"}},"purchase":{"approved_date":1764750000000,"order_date":1764750000000,"status":"APPROVED","transaction":"HP1","price":{"value":197.0,"currency_value":"BRL"},"payment":{"type":"PIX","installments_number":1},"origin":{"src":"fb_ads","sck":"sck-1"},"buyer_ip":"203.0.113.45"}},"hottok":"bench"}`

func BenchmarkParse(b *testing.B) {
	req := webhook.Request{Header: http.Header{"X-Hotmart-Hottok": {"bench"}}, Body: []byte(benchBody)}
	b.ReportAllocs()
	for b.Loop() {
		evs, err := Adapter{}.Parse(req)
		if err != nil || len(evs) != 1 {
			b.Fatal(len(evs), err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	req := webhook.Request{Header: http.Header{"X-Hotmart-Hottok": {"bench"}}, Body: []byte(benchBody)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := (Adapter{}).Verify(req, "bench", now); err != nil {
			b.Fatal(err)
		}
	}
}
