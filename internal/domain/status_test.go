package domain

import "testing"

func TestOrderStatusRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     OrderStatus
		rank  int
		valid bool
	}{
		{StatusWaitingPayment, 1, true},
		{StatusRefused, 2, true},
		{StatusCancelled, 2, true},
		{StatusPaid, 3, true},
		{StatusRefunded, 4, true},
		{StatusChargeback, 5, true},
		{StatusChargebackWon, 6, true},
		{StatusOther, 0, true},
		{"", 0, false},
		{"PAID", 0, false},
	}
	for _, tt := range tests {
		if got := tt.s.Rank(); got != tt.rank {
			t.Errorf("%q.Rank() = %d, want %d", tt.s, got, tt.rank)
		}
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.s, got, tt.valid)
		}
	}
	// The lifecycle: a late pending never undoes paid, a refund or chargeback moves past paid.
	order := []OrderStatus{StatusWaitingPayment, StatusCancelled, StatusPaid, StatusRefunded, StatusChargeback}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Errorf("%s ranks at or above %s", order[i-1], order[i])
		}
	}
}

// TestOrderStatusFollows: a won chargeback changes only a charged back order; every other status
// changes an order of a lower rank.
func TestOrderStatusFollows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, cur OrderStatus
		want   bool
	}{
		{StatusPaid, StatusWaitingPayment, true},
		{StatusWaitingPayment, StatusPaid, false},
		{StatusRefunded, StatusPaid, true},
		{StatusChargeback, StatusRefunded, true},
		{StatusChargebackWon, StatusChargeback, true},
		{StatusChargebackWon, StatusPaid, false},
		{StatusChargebackWon, StatusRefunded, false},
		{StatusChargebackWon, StatusWaitingPayment, false},
		{StatusChargebackWon, StatusChargebackWon, false},
		{StatusChargeback, StatusChargebackWon, false},
		{StatusRefunded, StatusChargebackWon, false},
		{StatusOther, StatusPaid, false},
	}
	for _, tt := range tests {
		if got := tt.s.Follows(tt.cur); got != tt.want {
			t.Errorf("%s.Follows(%s) = %v, want %v", tt.s, tt.cur, got, tt.want)
		}
	}
}
