package infratest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The guides for sellers (the gateway pages, Meta's page and the tracking page) hold a pt-BR
// guide, then the same guide in English, then the technical reference. Each language section is
// found by its heading, so a page that loses one, or puts them out of order, fails here.
const (
	guidePT  = "## Guia em português"
	guideEN  = "## Step-by-step guide (English)"
	guideRef = "## Technical reference"
)

func TestGuidesHaveBothLanguages(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob(repoPath(t, "docs", "gateways", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	type page struct {
		path string
		pt   []string // headings the pt-BR section must hold
		en   []string // the same in the English section
	}
	var list []page
	for _, p := range pages {
		if filepath.Base(p) == "README.md" {
			continue
		}
		list = append(list, page{p,
			[]string{"### 1. No Hub: pegue a URL do webhook", "### 2. ", "### 3. ", "### 4. Teste", "### Rastreamento"},
			[]string{"### 1. In Hub: get the webhook URL", "### 2. In ", "### 3. ", "### 4. Test", "### Tracking"}})
	}
	if len(list) < 12 {
		t.Fatalf("only %d gateway pages found in docs/gateways", len(list))
	}
	list = append(list,
		page{repoPath(t, "docs", "destinations", "meta.md"),
			[]string{"### 1. No Meta: ache o ID do pixel", "### 4. Teste com o código de teste", "### Pixel no navegador e o Hub ao mesmo tempo"},
			[]string{"### 1. In Meta: find the pixel id", "### 4. Test with the test code", "### The browser pixel and Hub together"}},
		page{repoPath(t, "docs", "tracking.md"),
			[]string{"### 2. Cole o snippet no seu site", "### Como ter um endereço https público"},
			[]string{"### 2. Paste the snippet into your site", "### Getting a public https address"}},
	)
	for _, p := range list {
		b, err := os.ReadFile(p.path)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		rel, _ := filepath.Rel(repoPath(t), p.path)
		pt, en, ref := headingAt(src, guidePT), headingAt(src, guideEN), headingAt(src, guideRef)
		switch {
		case pt < 0 || en < 0:
			t.Errorf("%s: needs both %q and %q", rel, guidePT, guideEN)
			continue
		case pt > en:
			t.Errorf("%s: the pt-BR guide must come before the English one", rel)
			continue
		case ref >= 0 && ref < en:
			t.Errorf("%s: the technical reference must come after both guides", rel)
			continue
		}
		end := len(src)
		if ref >= 0 {
			end = ref
		}
		sections := map[string]string{"pt-BR": src[pt:en], "English": src[en:end]}
		for lang, wants := range map[string][]string{"pt-BR": p.pt, "English": p.en} {
			for _, w := range wants {
				if !strings.Contains(sections[lang], "\n"+w) {
					t.Errorf("%s: the %s guide has no heading %q", rel, lang, w)
				}
			}
		}
	}
}

// headingAt is the offset of a line equal to h, or -1.
func headingAt(src, h string) int {
	if strings.HasPrefix(src, h+"\n") {
		return 0
	}
	if i := strings.Index(src, "\n"+h+"\n"); i >= 0 {
		return i + 1
	}
	return -1
}

var (
	mdAnyLinkRE = regexp.MustCompile(`\]\(([^)\s]*)\)`)
	mdHeadingRE = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
)

// Every relative link in docs/ points at a file that exists and, when it names an anchor in a
// Markdown page, at a heading of that page (GitHub's anchors: lowercase, punctuation dropped,
// spaces as dashes).
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	root := repoPath(t, "docs")
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := anchors[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		a := map[string]bool{}
		seen := map[string]int{}
		for _, m := range mdHeadingRE.FindAllStringSubmatch(stripFences(string(b)), -1) {
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				a[s+"-"+strconv.Itoa(n)] = true
			} else {
				a[s] = true
			}
			seen[s]++
		}
		anchors[path] = a
		return a, nil
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoPath(t), path)
		for _, m := range mdAnyLinkRE.FindAllStringSubmatch(stripFences(string(b)), -1) {
			target := m[1]
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			file, anchor, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link to %s: %v", rel, target, err)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			a, err := anchorsOf(dest)
			if err != nil {
				t.Errorf("%s: link to %s: %v", rel, target, err)
				continue
			}
			if !a[anchor] {
				t.Errorf("%s: link to %s: no heading makes the anchor #%s", rel, target, anchor)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d relative links checked: is the walk rooted at docs/?", checked)
	}
}

// stripFences drops fenced code blocks, whose brackets are code, not links or headings.
func stripFences(s string) string {
	var out strings.Builder
	in := false
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			continue
		}
		if !in {
			out.WriteString(l)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// slug is GitHub's anchor for a heading: lowercase; letters, digits, '-' and '_' kept; spaces
// become '-'; everything else (punctuation, backquotes, emphasis) dropped.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
