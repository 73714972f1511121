package webhook

import (
	"errors"
	"testing"
)

func TestVerifyBodyToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, secret string
		want               error // nil, ErrMissingSignature or ErrBadSignature
	}{
		{"match", `{"token":"s3cr3t","x":1}`, "s3cr3t", nil},
		{"number read as text", `{"token":12345}`, "12345", nil},
		{"case-insensitive key, as encoding/json", `{"TOKEN":"s3cr3t"}`, "s3cr3t", nil},
		{"last duplicate wins, as encoding/json", `{"token":"x","Token":"s3cr3t"}`, "s3cr3t", nil},
		{"mismatch", `{"token":"other"}`, "s3cr3t", ErrBadSignature},
		{"no field", `{"tokens":"s3cr3t"}`, "s3cr3t", ErrMissingSignature},
		{"empty field", `{"token":""}`, "s3cr3t", ErrMissingSignature},
		{"unreadable body", `token=s3cr3t`, "s3cr3t", ErrMissingSignature},
		{"nested is not top-level", `{"data":{"token":"s3cr3t"}}`, "s3cr3t", ErrMissingSignature},
		{"no secret", `{"token":""}`, "", ErrNoSecret},
	}
	for _, tt := range tests {
		err := VerifyBodyToken("gw", "token", Request{Body: []byte(tt.body)}, tt.secret)
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := VerifyBodyToken("gw", "token", Request{Body: []byte(`{"token":"s3cr3t"}`)}, ""); !errors.Is(err, ErrBadSignature) {
		t.Errorf("no secret: %v does not wrap ErrBadSignature", err)
	}
}
