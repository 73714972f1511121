package store

import "iter"

// Pages reads a keyset-paged list to its end, one page at a time: list is called with the key
// of the previous page's last row (after; "" for the first page) and returns at most limit
// rows; a shorter page is the last. key gives a row's key (its ID for most lists). Stop
// ranging to stop reading; an error is yielded once, and ends the pages.
func Pages[T any](limit int, key func(T) string, list func(after string, limit int) ([]T, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		after := ""
		for {
			page, err := list(after, limit)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) > 0 && !yield(page, nil) {
				return
			}
			if len(page) < limit {
				return
			}
			after = key(page[len(page)-1])
		}
	}
}
