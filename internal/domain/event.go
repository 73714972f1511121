package domain

// Standard event names. Hub uses Meta's standard names as the neutral vocabulary; other
// destinations map them (GA4 "purchase", TikTok's own list). Custom names are allowed.
const (
	EventPurchase             = "Purchase"
	EventLead                 = "Lead"
	EventInitiateCheckout     = "InitiateCheckout"
	EventAddToCart            = "AddToCart"
	EventAddPaymentInfo       = "AddPaymentInfo"
	EventCompleteRegistration = "CompleteRegistration"
	EventSubscribe            = "Subscribe"
	EventStartTrial           = "StartTrial"
	EventViewContent          = "ViewContent"
	EventPageView             = "PageView"
)
