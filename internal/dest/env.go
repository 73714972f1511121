package dest

import "github.com/hubtrack/hub/internal/operator"

// Env is what the operator gives every destination when it is constructed (dest/all.Register):
// the one outbound client, the clock, Hub's version and the operator settings the destinations
// declare in their Spec.Operator. It is operator.Env, the one a spend source gets too.
type Env = operator.Env

// OperatorSetting is a setting of a destination that belongs to the operator, declared in its
// Spec.Operator (operator.Setting, shared with the spend sources).
type OperatorSetting = operator.Setting

// CheckBaseURL is the Check of a platform's base URL (operator.CheckBaseURL).
func CheckBaseURL(v string) (string, error) { return operator.CheckBaseURL(v) }
