package all_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/all"
)

func TestSources(t *testing.T) {
	t.Parallel()
	m := all.Sources(spend.Env{})
	for _, p := range []spend.Platform{spend.Meta, spend.GoogleAds, spend.TikTok} {
		if s, ok := m[p]; !ok || s.Platform() != p {
			t.Errorf("no source for %s", p)
		}
	}
	seen := map[string]bool{}
	for _, op := range all.Operator() {
		if op.Env == "" || op.Default == "" || op.Description == "" || op.Check == nil || seen[op.Env] {
			t.Errorf("bad or repeated operator setting %+v", op)
		}
		if v, err := op.Check(op.Default); err != nil || v != op.Default {
			t.Errorf("%s: its default %q fails its check: %v", op.Env, op.Default, err)
		}
		seen[op.Env] = true
	}
}

// TestSpecs: every shipped source declares its connect form in both languages, in the Ad
// accounts page's order (Meta, Google Ads, TikTok: Spec.Order).
func TestSpecs(t *testing.T) {
	t.Parallel()
	var specs []spend.Spec
	for _, s := range all.Sources(spend.Env{}) {
		specs = append(specs, s.Spec())
		for _, m := range s.Spec().MissingWords() {
			t.Error(m)
		}
	}
	var order []string
	for _, s := range spend.Ordered(specs) {
		order = append(order, string(s.Platform))
	}
	if got := strings.Join(order, ","); got != "meta,googleads,tiktok" {
		t.Errorf("order %s", got)
	}
}

// TestSpendKnowledgeStaysInItsFolder fails when a spend source's words (its connect form's
// heading, introduction, steps, help and problems, in either language) are written again as a
// literal in a non-test Go file outside internal/spend: the dashboard and admin read them
// from the source's spec (issue 21).
func TestSpendKnowledgeStaysInItsFolder(t *testing.T) {
	t.Parallel()
	var needles []string
	quoted := func(ws ...spend.Words) {
		for _, w := range ws {
			for _, s := range []string{w.EN, w.PT} {
				if len(s) > 20 { // a short phrase is no evidence
					needles = append(needles, strconv.Quote(s))
				}
			}
		}
	}
	for _, src := range all.Sources(spend.Env{}) {
		s := src.Spec()
		quoted(s.Connect, s.How)
		quoted(s.Steps...)
		quoted(s.Problems...)
		for _, f := range append([]spend.Field{s.AccountID}, s.Credentials...) {
			quoted(f.Help)
		}
		for _, k := range s.Keys {
			quoted(k.Help)
		}
	}
	root := filepath.Join("..", "..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == filepath.Join("internal", "spend") || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			for _, nd := range needles {
				if strings.Contains(line, nd) {
					t.Errorf("%s:%d repeats a spend source's words (%s): they belong in its folder, read through its spec", rel, i+1, nd)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read only %d Go files; the walk is wrong", n)
	}
}
