// Package httpx owns Hub's HTTP conventions: errors as application/problem+json (RFC 9457)
// with {field, reason} items, strict JSON decoding, and the middleware every server shares.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []domain.FieldError `json:"errors,omitempty"`
}

func (p *Problem) Error() string {
	if len(p.Errors) > 0 {
		parts := make([]string, len(p.Errors))
		for i, e := range p.Errors {
			parts[i] = e.Field + ": " + e.Reason
		}
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, strings.Join(parts, "; "))
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

// NewProblem builds a problem whose title is the status text.
func NewProblem(status int, detail string, errs ...domain.FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// Invalid is a 422-free validation failure: 400 with the offending fields.
func Invalid(errs ...domain.FieldError) *Problem {
	return NewProblem(http.StatusBadRequest, "the request has invalid fields", errs...)
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if r != nil && p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteError writes err as a problem: a *Problem as it is, anything else as a 500 whose detail
// does not leak the internal error (it is logged by the caller).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	if errors.As(err, &p) {
		WriteProblem(w, r, p)
		return
	}
	WriteProblem(w, r, NewProblem(http.StatusInternalServerError, "internal error; see the server log for request "+w.Header().Get("X-Request-Id")))
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a JSON object from r.Body into v, rejecting unknown fields, trailing data
// and oversize bodies with problems naming the field.
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain") {
		return NewProblem(http.StatusUnsupportedMediaType, "the body must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return JSONProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid(domain.FieldError{Field: "body", Reason: "unexpected data after the JSON value"})
	}
	return nil
}

// JSONProblem turns a json decoding error into a problem naming the field.
func JSONProblem(err error) *Problem {
	var (
		maxErr  *http.MaxBytesError
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return NewProblem(http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(maxErr.Limit, 10)+" bytes")
	case errors.As(err, &synErr):
		return Invalid(domain.FieldError{Field: "body", Reason: fmt.Sprintf("malformed JSON at byte %d: %v", synErr.Offset, synErr)})
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return Invalid(domain.FieldError{Field: field, Reason: fmt.Sprintf("must be %s, got %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)})
	case errors.Is(err, io.EOF):
		return Invalid(domain.FieldError{Field: "body", Reason: "empty body; a JSON object is required"})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid(domain.FieldError{Field: "body", Reason: "malformed JSON: unexpected end of input"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(domain.FieldError{Field: name, Reason: "unknown field"})
	}
	return Invalid(domain.FieldError{Field: "body", Reason: err.Error()})
}

func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return k
}
