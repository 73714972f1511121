// Command summary reads harness result lines (ingest: …, delivery: …) on standard input and
// prints the median and spread of one of their fields over the runs, as docs/benchmarks.md
// records figures. bench/median3 runs a harness three times and pipes its result lines here.
//
//	summary [-field capacity|rate|…]
//
// Without -field it summarises capacity when the lines have it, else rate. Lines marked
// forced=1 (taken on a busy machine) are counted and the summary says so; so are lines whose
// steal= (CPU the hypervisor gave other guests during the run) is above -max-steal: noisy=1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/hubtrack/hub/bench/measure"
)

func main() {
	field := flag.String("field", "", "the field to summarise (default: capacity if present, else rate)")
	maxSteal := flag.Float64("max-steal", 5, "a run whose steal= is above this percentage is marked noisy")
	flag.Parse()
	out, err := summarize(os.Stdin, *field, *maxSteal)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out)
}

// summarize reads result lines (the ones with name=value fields; others are ignored) and
// returns "median3: field=F runs=N median=M min=A max=B spread=S% values=v1,v2,v3 [forced=1]
// [noisy=1]".
func summarize(r io.Reader, field string, maxSteal float64) (string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.Contains(l, "=") && (strings.HasPrefix(l, "ingest:") || strings.HasPrefix(l, "delivery:")) {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("summary: %w", err)
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("summary: no result lines (ingest: … or delivery: …) on the input")
	}
	if field == "" {
		field = "rate"
		if _, ok := measure.Field(lines[0], "capacity"); ok {
			field = "capacity"
		}
	}
	var xs []float64
	var vals []string
	forced, noisy := false, false
	for _, l := range lines {
		x, ok := measure.Field(l, field)
		if !ok {
			return "", fmt.Errorf("summary: no numeric %s= in %q", field, l)
		}
		xs = append(xs, x)
		vals = append(vals, fmt.Sprintf("%g", x))
		if v, ok := measure.Field(l, "forced"); ok && v != 0 {
			forced = true
		}
		if v, ok := measure.Field(l, "steal"); ok && v > maxSteal {
			noisy = true
		}
	}
	lo, hi, spread := measure.Spread(xs)
	s := fmt.Sprintf("median3: field=%s runs=%d median=%g min=%g max=%g spread=%.0f%% values=%s",
		field, len(xs), measure.Median(xs), lo, hi, spread, strings.Join(vals, ","))
	if forced {
		s += " forced=1"
	}
	if noisy {
		s += " noisy=1"
	}
	return s, nil
}
