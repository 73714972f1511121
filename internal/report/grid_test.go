package report

import (
	"testing"
	"time"
)

func TestGridFollowsLocalMidnights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone       string
		since      string // local date; the period is 40 days from it
		width, off time.Duration
	}{
		{"UTC", "2026-03-01", time.Hour, 0},
		{"America/Sao_Paulo", "2026-03-01", time.Hour, 0},
		{"Europe/London", "2026-03-15", time.Hour, 0}, // across the start of summer time
		{"Asia/Kolkata", "2026-03-01", time.Hour, 30 * time.Minute},
		{"Asia/Kathmandu", "2026-03-01", time.Hour, 45 * time.Minute},
		{"Australia/Lord_Howe", "2026-03-20", 15 * time.Minute, 0}, // +11:00 to +10:30 on 5 April
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err) // time/tzdata is built in
			}
			d, _ := time.ParseInLocation(time.DateOnly, tc.since, loc)
			p := Period{Since: d.Add(5 * time.Hour), Until: d.AddDate(0, 0, 40), Location: loc}
			width, off := p.grid()
			if width != tc.width || off != tc.off {
				t.Errorf("grid = %s, %s; want %s, %s", width, off, tc.width, tc.off)
			}
			// Every instant's bucket starts on the instant's local day, as the store computes it.
			w, o := int64(width/time.Second), int64(off/time.Second)
			for at := p.Since; !at.After(p.Until); at = at.Add(7 * time.Minute) {
				b := (at.Unix() + o) / w
				start := time.Unix(b*w-o, 0)
				if got, want := start.In(loc).Format(time.DateOnly), at.In(loc).Format(time.DateOnly); got != want {
					t.Fatalf("%s: bucket starts %s on %s", at.In(loc), start.In(loc), got)
				}
			}
		})
	}
}
