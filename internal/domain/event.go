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

// Order lifecycle and operations events. Ad platforms do not receive them (no destination
// sends them unless its events setting names them, and only the webhook destination accepts
// the names); a merchant's own system hears about them through a webhook destination.
const (
	EventOrderRefunded   = "OrderRefunded"
	EventOrderChargeback = "OrderChargeback"
	// EventOrderChargebackWon reports a chargeback the merchant won: what OrderChargeback
	// reported is undone (a merchant's system that revoked access can give it back).
	EventOrderChargebackWon = "OrderChargebackWon"
	EventOrderCancelled     = "OrderCancelled"
	// EventDeliveryDead reports that a delivery to another destination died (its retries ran
	// out or the platform refused it for good).
	EventDeliveryDead = "DeliveryDead"
	// EventAlertRaised and EventAlertResolved report an operational alert (package alert) being
	// raised and clearing. They are not in any events setting: every destination whose Spec
	// takes alerts (the webhook) gets them.
	EventAlertRaised   = "AlertRaised"
	EventAlertResolved = "AlertResolved"
)

// StatusEvent is the lifecycle event an order's move to status s reports, if any. Paid is the
// Purchase, planned on its own; waiting and refused orders report nothing.
func StatusEvent(s OrderStatus) (string, bool) {
	switch s {
	case StatusRefunded:
		return EventOrderRefunded, true
	case StatusChargeback:
		return EventOrderChargeback, true
	case StatusChargebackWon:
		return EventOrderChargebackWon, true
	case StatusCancelled:
		return EventOrderCancelled, true
	}
	return "", false
}
