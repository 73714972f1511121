package pii

import (
	"reflect"
	"testing"
)

func TestEmailForms(t *testing.T) {
	t.Parallel()
	got := EmailForms(" Maria.Souza+promo@Example.com ")
	want := []string{"maria.souza+promo@example.com", "maria.souza%2bpromo%40example.com", "maria.souza+promo%40example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EmailForms = %q, want %q", got, want)
	}
	if got := EmailForms("not an address"); got != nil {
		t.Errorf("invalid address has forms %q", got)
	}
}

func TestPhoneForms(t *testing.T) {
	t.Parallel()
	got := PhoneForms("+55 (11) 98765-4321", "55")
	want := []string{"+55 (11) 98765-4321", "5511987654321", "+5511987654321", "%2b5511987654321", "%2b55+%2811%29+98765-4321", "11987654321"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PhoneForms = %q, want %q", got, want)
	}
	if got := PhoneForms("12", "55"); got != nil {
		t.Errorf("invalid phone has forms %q", got)
	}
	// Short spellings would match unrelated text and are left out.
	for _, f := range PhoneForms("+1 650 555 1212", "") {
		if len(f) < minForm {
			t.Errorf("short form %q", f)
		}
	}
}
