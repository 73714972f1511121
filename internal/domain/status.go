package domain

// OrderStatus is Hub's normalised order status.
//
// Lifecycles: waiting_payment -> paid (boleto/pix generated, then paid); paid -> refunded or
// chargeback; waiting_payment -> cancelled (expired) or refused.
type OrderStatus string

// The statuses. StatusOther marks an authentic gateway event about a known order that changes
// nothing Hub acts on (a dispute opened, a pre-authorisation, a won chargeback, a subscription
// becoming late): it is recorded in the order's history with its native status and fires
// nothing. Deliveries about no order at all (abandoned carts, pings) produce no event instead.
const (
	StatusWaitingPayment OrderStatus = "waiting_payment"
	StatusPaid           OrderStatus = "paid"
	StatusRefused        OrderStatus = "refused"
	StatusCancelled      OrderStatus = "cancelled"
	StatusRefunded       OrderStatus = "refunded"
	StatusChargeback     OrderStatus = "chargeback"
	StatusOther          OrderStatus = "other"
)

// Valid reports whether s is one of the defined statuses.
func (s OrderStatus) Valid() bool {
	switch s {
	case StatusWaitingPayment, StatusPaid, StatusRefused, StatusCancelled, StatusRefunded,
		StatusChargeback, StatusOther:
		return true
	}
	return false
}

// Rank orders statuses in the lifecycle: an event whose rank is lower than the order's current
// one is history, not a change. Refused and cancelled rank with waiting payment's successors
// but below paid, so a late "pending" never undoes "paid". StatusOther and unknown values rank
// 0: they never change an order's status.
func (s OrderStatus) Rank() int {
	switch s {
	case StatusWaitingPayment:
		return 1
	case StatusRefused, StatusCancelled:
		return 2
	case StatusPaid:
		return 3
	case StatusRefunded:
		return 4
	case StatusChargeback:
		return 5
	}
	return 0
}
