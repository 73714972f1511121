// Package logrec is the record format of bench/ingestbound's log (BOUND_WRITE=log): a group's
// touchpoints, every field, each string as its length (uvarint) and bytes, times as Unix
// microseconds (varint), Bot as one byte. Compact and without reflection, as an append-only
// log written before the acknowledgement would be; bench/ingest decodes it to verify.
package logrec

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// MaxRow is the most bytes Split puts in one row, so that a row stays in its table's page
// (PostgreSQL moves a larger value to its TOAST table, a second table and index per row).
const MaxRow = 7000

// Append appends tp's record to b.
func Append(b []byte, tp *store.Touchpoint) []byte {
	for _, s := range [...]string{tp.ID, tp.TenantID, tp.SourceID, tp.Type, tp.Name, tp.ClientEventID,
		tp.URL, tp.Referrer, tp.VisitorID, tp.FBCLID, tp.GCLID, tp.GBRAID, tp.WBRAID, tp.TTCLID, tp.FBC, tp.FBP,
		tp.GAClientID, tp.GASessions, tp.TTP, tp.UTM.Source, tp.UTM.Medium, tp.UTM.Campaign, tp.UTM.Content, tp.UTM.Term,
		tp.IP, tp.UserAgent, tp.Consent, tp.Signals.AdUserData, tp.Signals.AdPersonalization, tp.Signals.Analytics,
		tp.EmailHash, tp.PhoneHash, tp.GoogleEmailHash, tp.GooglePhoneHash, tp.TikTokPhoneHash, string(tp.Props)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, tp.OccurredAt.UnixMicro())
	b = binary.AppendVarint(b, tp.ReceivedAt.UnixMicro())
	if tp.Bot {
		return append(b, 1)
	}
	return append(b, 0)
}

// Split encodes tps as rows of at most MaxRow bytes each (a record larger than that alone).
func Split(tps []store.Touchpoint) [][]byte {
	var rows [][]byte
	var cur []byte
	for i := range tps {
		n := len(cur)
		cur = Append(cur, &tps[i])
		if len(cur) > MaxRow && n > 0 {
			rows = append(rows, cur[:n:n])
			cur = append([]byte(nil), cur[n:]...)
		}
	}
	if len(cur) > 0 {
		rows = append(rows, cur)
	}
	return rows
}

var errShort = errors.New("logrec: truncated record")

// Decode returns the touchpoints of one row.
func Decode(b []byte) ([]store.Touchpoint, error) {
	var out []store.Touchpoint
	for len(b) > 0 {
		var tp store.Touchpoint
		var props string
		for _, p := range [...]*string{&tp.ID, &tp.TenantID, &tp.SourceID, &tp.Type, &tp.Name, &tp.ClientEventID,
			&tp.URL, &tp.Referrer, &tp.VisitorID, &tp.FBCLID, &tp.GCLID, &tp.GBRAID, &tp.WBRAID, &tp.TTCLID, &tp.FBC, &tp.FBP,
			&tp.GAClientID, &tp.GASessions, &tp.TTP, &tp.UTM.Source, &tp.UTM.Medium, &tp.UTM.Campaign, &tp.UTM.Content, &tp.UTM.Term,
			&tp.IP, &tp.UserAgent, &tp.Consent, &tp.Signals.AdUserData, &tp.Signals.AdPersonalization, &tp.Signals.Analytics,
			&tp.EmailHash, &tp.PhoneHash, &tp.GoogleEmailHash, &tp.GooglePhoneHash, &tp.TikTokPhoneHash, &props} {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)-k) {
				return nil, errShort
			}
			*p = string(b[k : k+int(n)])
			b = b[k+int(n):]
		}
		if props != "" {
			tp.Props = []byte(props)
		}
		for _, t := range [...]*time.Time{&tp.OccurredAt, &tp.ReceivedAt} {
			us, k := binary.Varint(b)
			if k <= 0 {
				return nil, errShort
			}
			*t = time.UnixMicro(us).UTC()
			b = b[k:]
		}
		if len(b) == 0 || b[0] > 1 {
			return nil, errShort
		}
		tp.Bot = b[0] == 1
		b = b[1:]
		out = append(out, tp)
	}
	return out, nil
}
