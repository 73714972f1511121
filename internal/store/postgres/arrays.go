package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The group commit sends each column of its touchpoints as one array parameter. pgx encodes an
// array element by element through pgtype.ArrayGetter.Index, which returns an interface: for a
// []string or []time.Time (pgtype.FlatArray) that boxes every element, one allocation per
// non-empty string and two per time, about 25 per touchpoint. The arrays below hand pgx a
// pointer into the slice instead (boxing a pointer allocates nothing), of a type pgx's text and
// timestamptz codecs encode directly (pgtype.TextValuer, pgtype.TimestamptzValuer); the bytes on
// the wire are the same as for the plain slices.

// textArray is a text[] parameter: every element a value, "" included (never NULL).
type textArray []string

// textElem is one element of a textArray.
type textElem string

func (t *textElem) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(*t), Valid: true}, nil
}

func (a textArray) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a textArray) Index(i int) any                     { return (*textElem)(&a[i]) }
func (a textArray) IndexType() any                      { return (*textElem)(nil) }

// nullTextArray is a text[] parameter whose invalid elements are NULL.
type nullTextArray []pgtype.Text

func (a nullTextArray) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a nullTextArray) Index(i int) any                     { return &a[i] }
func (a nullTextArray) IndexType() any                      { return (*pgtype.Text)(nil) }

// timeArray is a timestamptz[] parameter (no NULL, no infinity).
type timeArray []time.Time

// timeElem is one element of a timeArray.
type timeElem time.Time

func (t *timeElem) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: time.Time(*t), Valid: true}, nil
}

func (a timeArray) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a timeArray) Index(i int) any                     { return (*timeElem)(&a[i]) }
func (a timeArray) IndexType() any                      { return (*timeElem)(nil) }

// dimensions is pgtype.FlatArray's: one dimension of n elements from 1, or none (a NULL array)
// for a nil slice.
func dimensions(n int, null bool) []pgtype.ArrayDimension {
	if null {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

// plainArrays returns args with the arrays above as the slices they are, which pgx encodes in
// every query mode (the simple protocol finds a parameter's type from its Go type).
func plainArrays(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case textArray:
			out[i] = []string(a)
		case nullTextArray:
			out[i] = []pgtype.Text(a)
		case timeArray:
			out[i] = []time.Time(a)
		default:
			out[i] = a
		}
	}
	return out
}
