package webhook

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// A declaration shaped like the body-token gateways', used by the table and the fuzz target.
var testSensitive = Sensitive{
	Secret:        []string{"hottok", "chave_unica"},
	PII:           []string{"data.buyer.*", "comprador.*", "list.*.name", "client_*"},
	Embedded:      []string{"json"},
	SecretHeaders: []string{"X-Sig"},
	SecretQuery:   []string{"k"},
}

func TestMaskBody(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name, ct, body string
		reveal         bool
		want           string
	}{
		{"secret and nested pii", "application/json",
			`{"hottok":"s3cr3t","data":{"buyer":{"email":"a@b.c","address":{"city":"SP"}},"purchase":{"transaction":"HP1","price":{"value":197.0}}}}`,
			false, `{"hottok":"[secret]","data":{"buyer":{"email":"•••","address":"•••"},"purchase":{"transaction":"HP1","price":{"value":197.0}}}}`},
		{"reveal shows pii, never the secret", "application/json",
			`{"hottok":"s3cr3t","data":{"buyer":{"email":"a@b.c"}}}`,
			true, `{"hottok":"[secret]","data":{"buyer":{"email":"a@b.c"}}}`},
		{"keys fold like encoding/json", "application/json",
			`{"HOTTOK":"s1","HotTo\u212a":"s2","data":{"BUYER":{"Name":"Ana"}}}`,
			false, "{\"HOTTOK\":\"[secret]\",\"HotTo\u212a\":\"[secret]\",\"data\":{\"BUYER\":{\"Name\":\"•••\"}}}"},
		{"duplicate keys are all masked", "application/json",
			`{"hottok":"a","hottok":"b"}`, false, `{"hottok":"[secret]","hottok":"[secret]"}`},
		{"arrays and wildcards", "application/json",
			`{"list":[{"name":"Ana","sku":"X"},{"name":"Bia"}],"client_email":"c@d.e","client":"kept"}`,
			false, `{"list":[{"name":"•••","sku":"X"},{"name":"•••"}],"client_email":"•••","client":"kept"}`},
		{"common names anywhere", "application/json",
			`[{"x":{"email":"a@b.c","cpf":12345678901,"token":"t0k"}}]`,
			false, `[{"x":{"email":"•••","cpf":"•••","token":"[secret]"}}]`},
		{"null and empty stay", "application/json",
			`{"hottok":"","data":{"buyer":{"email":null,"phone":""}}}`, false,
			`{"hottok":"","data":{"buyer":{"email":null,"phone":""}}}`},
		{"values left alone keep their text", "application/json",
			" {\"n\": 1.50e1 , \"s\":\"<a>&\\u00e9\"}\n", false, `{"n":1.50e1,"s":"<a>&\u00e9"}`},
		{"json without a json content type", "text/plain", `{"hottok":"x"}`, false, `{"hottok":"[secret]"}`},
		{"form with php keys", form,
			"chave_unica=s3cr3t&comprador%5Bemail%5D=a%40b.c&comprador%5Bnome%5D=Ana+B&venda%5Bcodigo%5D=1&x=",
			false, "chave_unica=%5Bsecret%5D&comprador%5Bemail%5D=%E2%80%A2%E2%80%A2%E2%80%A2&comprador%5Bnome%5D=%E2%80%A2%E2%80%A2%E2%80%A2&venda%5Bcodigo%5D=1&x="},
		{"form reveal", form, "chave_unica=s&comprador[email]=a%40b.c", true,
			"chave_unica=%5Bsecret%5D&comprador[email]=a%40b.c"},
		{"form key under a declared parent", form, "comprador[endereco][rua]=Paulista", false,
			"comprador[endereco][rua]=%E2%80%A2%E2%80%A2%E2%80%A2"},
		{"embedded json in a form field", form,
			"json=" + url.QueryEscape(`{"chave_unica":"s3cr3t","comprador":{"email":"a@b.c"},"venda":{"codigo":"1"}}`),
			false, "json=" + url.QueryEscape(`{"chave_unica":"[secret]","comprador":{"email":"•••"},"venda":{"codigo":"1"}}`)},
		{"embedded json that does not parse is withheld", form, "json=%7Bchave_unica", false,
			"json=" + url.QueryEscape(embeddedWithheld)},
		{"broken json is withheld", "application/json", `{"hottok":"s3cr3t",`, false, withheld(19)},
		{"trailing data is withheld", "application/json", `{"a":1} {"hottok":"s3cr3t"}`, false, withheld(27)},
		{"bad form escape is withheld", form, "chave_unica=%zz", false, withheld(15)},
		{"semicolon form is withheld", form, "a=1;chave_unica=s", false, withheld(17)},
		{"empty", "application/json", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.body)
			got := string(MaskBody(in, tt.ct, testSensitive, tt.reveal))
			if got != tt.want {
				t.Errorf("MaskBody(%s)\n got %s\nwant %s", tt.body, got, tt.want)
			}
			if string(in) != tt.body {
				t.Errorf("MaskBody modified its input: %s", in)
			}
		})
	}
}

func TestMaskBodyTooDeep(t *testing.T) {
	t.Parallel()
	body := strings.Repeat(`{"a":`, maxMaskDepth+2) + `{"hottok":"s3cr3t"}` + strings.Repeat("}", maxMaskDepth+2)
	if got := string(MaskBody([]byte(body), "application/json", testSensitive, true)); strings.Contains(got, "s3cr3t") {
		t.Errorf("deep body shows the secret: %.80s", got)
	}
}

func TestMaskHeadersAndQuery(t *testing.T) {
	t.Parallel()
	h := MaskHeaders(map[string]string{"X-Sig": "abc", "X-Shopify-Hmac-Sha256": "def", "Authorization": "Basic x",
		"X-Api-Token": "ghi", "Content-Type": "application/json", "X-Empty-Signature": ""}, testSensitive)
	want := map[string]string{"X-Sig": SecretMask, "X-Shopify-Hmac-Sha256": SecretMask, "Authorization": SecretMask,
		"X-Api-Token": SecretMask, "Content-Type": "application/json", "X-Empty-Signature": ""}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"signature=abc&utm_source=fb", "signature=%5Bsecret%5D&utm_source=fb"},
		{"K=secret&x=1", "K=%5Bsecret%5D&x=1"},
		{"access_token=abc", "access_token=%5Bsecret%5D"},
		{"a=%zz", "[query withheld: it does not parse]"},
		{"", ""},
	} {
		if got := MaskQuery(tt.in, testSensitive); got != tt.want {
			t.Errorf("MaskQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pat, path string
		want      bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.b.c", false},
		{"a.*", "a.0", true},
		{"**.email", "email", true},
		{"**.email", "x.y.email", true},
		{"**.email", "x.email.y", false},
		{"a.**", "a", true},
		{"client_*", "client_cel", true},
		{"client_*", "clients", false},
		{"a.[", "a.[", false}, // a malformed pattern matches nothing
	}
	for _, tt := range tests {
		got := matchPath(strings.Split(fold(tt.pat), "."), strings.Split(fold(tt.path), "."))
		if got != tt.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tt.pat, tt.path, got, tt.want)
		}
	}
}

func TestRegistryMaskDelivery(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	got := r.MaskDelivery("nobody", map[string]string{"X-Signature": "x"}, "signature=1", []byte(`{"a":1}`), true)
	if strings.Contains(string(got.Body), `"a"`) || got.Header["X-Signature"] != SecretMask || got.Query != "signature=%5Bsecret%5D" {
		t.Errorf("unknown provider: %+v", got)
	}
}

// FuzzMaskBody checks, on any body, that masking never panics, never changes its input, is
// deterministic and idempotent, keeps JSON bodies JSON, and that whatever the adapters would
// read as the secret (encoding/json's case-insensitive field matching, url.ParseQuery's form
// fields, the embedded json field) reads as the mask or nothing after masking, with or without
// a reveal.
func FuzzMaskBody(f *testing.F) {
	for _, s := range []string{
		`{"hottok":"s3cr3t","data":{"buyer":{"email":"a@b.c"}}}`,
		`{"HOTTOK":"s3cr3t","hottok":"x"}`,
		`{"hottok":123}`,
		`[{"hottok":"a"},1,"x",null,true]`,
		`{"json":"{\"chave_unica\":\"s\"}"}`,
		"chave_unica=s3cr3t&comprador%5Bemail%5D=a%40b.c",
		"json=%7B%22chave_unica%22%3A%22s%22%7D&chave_unica=s",
		"chave_unica=a&chave_unica=b",
		`{"a":`,
		"",
		"\xff\xfe",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, reveal bool) {
		orig := bytes.Clone(body)
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
			got := MaskBody(body, ct, testSensitive, reveal)
			if !bytes.Equal(body, orig) {
				t.Fatal("MaskBody modified its input")
			}
			if again := MaskBody(body, ct, testSensitive, reveal); !bytes.Equal(got, again) {
				t.Fatalf("not deterministic: %q then %q", got, again)
			}
			if twice := MaskBody(got, ct, testSensitive, reveal); !bytes.Equal(got, twice) && !bytes.HasPrefix(got, []byte("[body withheld")) {
				t.Fatalf("not idempotent: %q then %q", got, twice)
			}
			var js struct {
				Hottok     json.RawMessage `json:"hottok"`
				ChaveUnica json.RawMessage `json:"chave_unica"`
			}
			if json.Valid(body) {
				if !json.Valid(got) {
					t.Fatalf("masked JSON is not JSON: %q", got)
				}
				if json.Unmarshal(got, &js) == nil {
					checkSecretJSON(t, js.Hottok, got)
					checkSecretJSON(t, js.ChaveUnica, got)
				}
			}
			if form, err := url.ParseQuery(string(got)); err == nil {
				for _, v := range form["chave_unica"] {
					if v != "" && v != SecretMask {
						t.Fatalf("form chave_unica reads %q after masking %q", v, body)
					}
				}
				if inner := form.Get("json"); inner != "" && json.Unmarshal([]byte(inner), &js) == nil {
					checkSecretJSON(t, js.ChaveUnica, got)
					checkSecretJSON(t, js.Hottok, got)
				}
			}
		}
	})
}

func checkSecretJSON(t *testing.T, v json.RawMessage, masked []byte) {
	t.Helper()
	switch s := string(bytes.TrimSpace(v)); s {
	case "", "null", `""`, `"` + SecretMask + `"`, "[]", "{}":
	default:
		t.Fatalf("secret field reads %s after masking: %q", s, masked)
	}
}

// Parse errors are stored with the delivery, shown in every view and logged: they must not
// quote the body's values.
func TestScalarErrorQuotesNoValue(t *testing.T) {
	t.Parallel()
	var v struct {
		Document Scalar `json:"document"`
	}
	for _, body := range []string{`{"document":{"cpf":"00000000191"}}`, `{"document":["00000000191"]}`} {
		err := DecodeJSON("test", []byte(body), &v)
		if err == nil || strings.Contains(err.Error(), "0000000019") {
			t.Errorf("DecodeJSON(%s) = %v", body, err)
		}
	}
}
