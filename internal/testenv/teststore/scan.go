package teststore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// Scan reads every column of every row of every table the database catalogue lists (so a
// table added later is scanned too), as lower-case text, and reports where each needle (lower
// case) is, as table.column entries. It is the scan of every test that checks an erased person is nowhere
// (api.TestErasureLeavesNothing, intake.TestRefundAfterErasureKeepsNoRawCopy).
func Scan(t testing.TB, st store.Store, needles []string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	raw, ok := st.(interface {
		InTx(ctx context.Context, fn func(tx sqlstore.TxConn) error) error
	})
	if !ok {
		t.Fatalf("store %T gives no raw access", st)
	}
	found := map[string][]string{}
	err := raw.InTx(ctx, func(tx sqlstore.TxConn) error {
		type column struct{ table, name, typ string }
		catalogue := `SELECT table_name, column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
		if st.Dialect() == "sqlite" {
			catalogue = `SELECT m.name, c.name, c.type FROM sqlite_master m, pragma_table_info(m.name) c
				WHERE m.type = 'table' ORDER BY m.name, c.cid`
		}
		rows, err := tx.Query(ctx, catalogue)
		if err != nil {
			return err
		}
		var cols []column
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
				rows.Close()
				return err
			}
			cols = append(cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(cols) == 0 {
			return errors.New("the catalogue lists no column")
		}
		tables := map[string][]column{}
		var order []string
		for _, c := range cols {
			if tables[c.table] == nil {
				order = append(order, c.table)
			}
			tables[c.table] = append(tables[c.table], c)
		}
		for _, want := range []string{"inbox", "orders", "touchpoints", "identities", "audit_log"} {
			if tables[want] == nil {
				return fmt.Errorf("the catalogue does not list table %s: %v", want, order)
			}
		}
		for _, table := range order {
			var exprs []string
			for _, c := range tables[table] {
				q := `"` + c.name + `"`
				switch {
				case st.Dialect() == "sqlite":
					exprs = append(exprs, `COALESCE(CAST(`+q+` AS TEXT), '')`)
				case c.typ == "bytea": // printable ASCII as it is, even when not UTF-8
					exprs = append(exprs, `COALESCE(encode(`+q+`, 'escape'), '')`)
				default:
					exprs = append(exprs, `COALESCE(CAST(`+q+` AS text), '')`)
				}
			}
			rows, err := tx.Query(ctx, `SELECT `+strings.Join(exprs, ", ")+` FROM "`+table+`"`)
			if err != nil {
				return fmt.Errorf("scan %s: %w", table, err)
			}
			for rows.Next() {
				vals := make([]string, len(exprs))
				ptrs := make([]any, len(vals))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return fmt.Errorf("scan %s: %w", table, err)
				}
				for i, v := range vals {
					v = strings.ToLower(v)
					for _, n := range needles {
						if strings.Contains(v, n) {
							found[n] = append(found[n], table+"."+tables[table][i].name)
						}
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
