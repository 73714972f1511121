package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

func TestPages(t *testing.T) {
	t.Parallel()
	const limit = 3
	for _, n := range []int{0, 1, limit - 1, limit, limit + 1, 2 * limit, 2*limit + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			var rows []string
			for i := range n {
				rows = append(rows, fmt.Sprintf("r%02d", i))
			}
			calls := 0
			list := func(after string, lim int) ([]string, error) {
				calls++
				if lim != limit {
					t.Fatalf("limit %d, want %d", lim, limit)
				}
				i, _ := slices.BinarySearch(rows, after)
				if i < len(rows) && rows[i] == after {
					i++
				}
				return rows[i:min(i+lim, len(rows))], nil
			}
			var got []string
			for page, err := range store.Pages(limit, func(r string) string { return r }, list) {
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 || len(page) > limit {
					t.Errorf("page of %d rows", len(page))
				}
				got = append(got, page...)
			}
			if !slices.Equal(got, rows) {
				t.Errorf("read %v, want %v", got, rows)
			}
			if want := n/limit + 1; calls != want {
				t.Errorf("%d queries, want %d", calls, want)
			}
		})
	}
}

func TestPagesStopsAndFails(t *testing.T) {
	t.Parallel()
	full := func(after string, limit int) ([]int, error) { return make([]int, limit), nil }
	pages := 0
	for _, err := range store.Pages(2, func(int) string { return "k" }, full) {
		if err != nil {
			t.Fatal(err)
		}
		if pages++; pages == 3 {
			break
		}
	}
	if pages != 3 {
		t.Errorf("%d pages before the break, want 3", pages)
	}
	boom := errors.New("boom")
	calls := 0
	failing := func(after string, limit int) ([]int, error) {
		if calls++; calls == 2 {
			return nil, boom
		}
		return make([]int, limit), nil
	}
	var errs []error
	for _, err := range store.Pages(2, func(int) string { return "k" }, failing) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], boom) || calls != 2 {
		t.Errorf("errors %v after %d queries; want boom once, after 2", errs, calls)
	}
}
