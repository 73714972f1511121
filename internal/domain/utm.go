package domain

// UTM holds a visit's or an order's campaign parameters (utm_source, utm_medium, utm_campaign,
// utm_content, utm_term), as captured. One type for the touchpoint and the order Hub stores
// (store.UTM), the API's view of them (api.UTM) and what the intake reads from a gateway's
// tracking (webhook.Tracking.UTM); nested in JSON ({"utm": {"source": ...}}). Where a wire
// format is flat (a gateway's utm_source, the outgoing webhook's attribution.utm_source), the
// flat fields are that format's, converted at the edge.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Content  string `json:"content,omitempty"`
	Term     string `json:"term,omitempty"`
}
