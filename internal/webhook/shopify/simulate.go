package shopify

import _ "embed"

// fixture is the recorded paid delivery the conformance suite checks, the template of the
// test purchases (spec.Test).
//
//go:embed testdata/shopify.json
var fixture []byte
