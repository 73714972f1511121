package domain

// ClickIDs are the ad platforms' click identifiers and cookies a visit or an order carries, as
// captured (never rewritten: Meta's fbclid is case-sensitive). One struct for the gateway
// adapters' parsed tracking (webhook.Tracking) and the stored order's (store.Tracking), so the
// intake carries them as a value instead of copying field by field. Embedded without a JSON
// name, its fields keep their flat keys (fbclid, fbc, ...) in both.
type ClickIDs struct {
	FBCLID string `json:"fbclid,omitempty"`
	FBC    string `json:"fbc,omitempty"`
	FBP    string `json:"fbp,omitempty"`
	GCLID  string `json:"gclid,omitempty"`
	GBRAID string `json:"gbraid,omitempty"`
	WBRAID string `json:"wbraid,omitempty"`
	TTCLID string `json:"ttclid,omitempty"`
}
