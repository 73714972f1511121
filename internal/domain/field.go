package domain

// FieldError names one invalid input and why, the way the API names the field: the admin
// actions, the destination settings checks and problem+json's {field, reason} items all use it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}
