package report

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// OrderColumns is the header of the orders CSV export.
var OrderColumns = []string{
	"id", "created_at", "source_id", "provider", "external_id", "status", "native_status",
	"amount_minor", "currency", "paid_at", "matched", "products",
	"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
}

// OrderCSV writes orders as CSV (RFC 4180: comma separated, CRLF line ends, fields with commas,
// quotes or line breaks quoted, quotes doubled), one row per order after the header row.
type OrderCSV struct {
	w *csv.Writer
}

// NewOrderCSV writes the header row to w.
func NewOrderCSV(w io.Writer) (*OrderCSV, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(OrderColumns); err != nil {
		return nil, fmt.Errorf("report: csv header: %w", err)
	}
	return &OrderCSV{w: cw}, nil
}

// Write adds one order.
func (c *OrderCSV) Write(o store.Order) error {
	paid := ""
	if o.PaidAt != nil {
		paid = o.PaidAt.UTC().Format(time.RFC3339)
	}
	names := make([]string, 0, len(o.Products))
	for _, p := range o.Products {
		name := p.Name
		if name == "" {
			name = p.ID
		}
		if p.Quantity > 1 {
			name += " x" + strconv.Itoa(p.Quantity)
		}
		names = append(names, name)
	}
	row := []string{
		o.ID, o.CreatedAt.UTC().Format(time.RFC3339), o.SourceID, o.Provider, text(o.ExternalID), string(o.Status),
		text(o.NativeStatus), strconv.FormatInt(o.AmountMinor, 10), o.Currency, paid, strconv.FormatBool(o.Matched),
		text(strings.Join(names, "; ")),
		text(o.Tracking.UTM.Source), text(o.Tracking.UTM.Medium), text(o.Tracking.UTM.Campaign),
		text(o.Tracking.UTM.Content), text(o.Tracking.UTM.Term),
	}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("report: csv row: %w", err)
	}
	return nil
}

// Flush writes buffered rows and reports any write error.
func (c *OrderCSV) Flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// text neutralises spreadsheet formulas in free text that came from a gateway or a URL (a
// product named "=HYPERLINK(...)"): a leading =, +, -, @, tab or carriage return gets a leading
// apostrophe, as OWASP recommends against CSV injection. Quoting itself is encoding/csv's.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ExportOrders streams every order matching f as CSV, newest first.
func ExportOrders(ctx context.Context, r Reader, f store.OrderFilter, w io.Writer) error {
	c, err := NewOrderCSV(w)
	if err != nil {
		return err
	}
	n := 0
	err = EachOrder(ctx, r, f, func(o store.Order) error {
		if err := c.Write(o); err != nil {
			return err
		}
		if n++; n%pageSize == 0 {
			return c.Flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.Flush()
}
