package domain

// OrderStatus is Hub's normalised order status.
//
// Lifecycles: waiting_payment -> paid (boleto/pix generated, then paid); paid -> refunded or
// chargeback; chargeback -> chargeback_won (the merchant won the dispute); waiting_payment ->
// cancelled (expired) or refused.
type OrderStatus string

// The statuses. StatusOther marks an authentic gateway event about a known order that changes
// nothing Hub acts on (a dispute opened, a pre-authorisation, a subscription becoming late): it
// is recorded in the order's history with its native status and fires nothing. Deliveries
// about no order at all (abandoned carts, pings) produce no event instead.
//
// StatusChargebackWon is a chargeback the merchant won (or a dispute closed in the merchant's
// favour): the money stays with the merchant, so what the chargeback took off the revenue is
// given back. It changes only an order whose status is chargeback (Follows).
const (
	StatusWaitingPayment OrderStatus = "waiting_payment"
	StatusPaid           OrderStatus = "paid"
	StatusRefused        OrderStatus = "refused"
	StatusCancelled      OrderStatus = "cancelled"
	StatusRefunded       OrderStatus = "refunded"
	StatusChargeback     OrderStatus = "chargeback"
	StatusChargebackWon  OrderStatus = "chargeback_won"
	StatusOther          OrderStatus = "other"
)

// Valid reports whether s is one of the defined statuses.
func (s OrderStatus) Valid() bool {
	switch s {
	case StatusWaitingPayment, StatusPaid, StatusRefused, StatusCancelled, StatusRefunded,
		StatusChargeback, StatusChargebackWon, StatusOther:
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
	case StatusChargebackWon:
		return 6
	}
	return 0
}

// Follows reports whether an event of status s changes an order whose status is cur: its rank
// is higher, except that a won chargeback changes only a charged back order. A win that finds
// no chargeback (Hub never heard of it, or the gateway's events crossed) changes nothing: the
// revenue was never taken off, and the order keeps taking later refunds and chargebacks.
func (s OrderStatus) Follows(cur OrderStatus) bool {
	if s == StatusChargebackWon {
		return cur == StatusChargeback
	}
	return s.Rank() > cur.Rank()
}

// Reversal reports whether an order event of status s may change what the order brings in: a
// refund or chargeback takes off the revenue, a won chargeback gives back what the chargeback
// took.
func (s OrderStatus) Reversal() bool {
	return s == StatusRefunded || s == StatusChargeback || s == StatusChargebackWon
}
