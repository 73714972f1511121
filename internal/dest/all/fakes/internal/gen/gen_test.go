package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree writes files (path relative to a dest folder: "all/all.go", "meta/fakemeta/double.go")
// and returns the all folder.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "all")
}

func allGo(imports, body string) string {
	return "package all\n\nimport (\n\t\"github.com/hubtrack/hub/internal/dest\"\n" + imports + ")\n\n" +
		"func Register(r *dest.Registry, env dest.Env) {\n" + body + "}\n"
}

const (
	metaDouble = "package fakemeta\n\nimport \"github.com/hubtrack/hub/internal/dest/desttest\"\n\nvar Double = desttest.Double{Type: \"meta\"}\n"
	// Google's fake is not named fake<folder>, and declares Double with its type.
	googleDouble = "package fakegoogle\n\nimport \"github.com/hubtrack/hub/internal/dest/desttest\"\n\nvar Double desttest.Double\n"
	// Neither a test file's Double nor another type's is a double.
	notDouble = "package other\n\nvar Double = struct{}{}\n"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := tree(t, map[string]string{
		"all/all.go": allGo("\tgads \"github.com/hubtrack/hub/internal/dest/googleads\"\n\t\"github.com/hubtrack/hub/internal/dest/meta\"\n",
			"\tr.Register(meta.New(env))\n\tr.Register(gads.New(env))\n"),
		"meta/meta.go":                   "package meta\n",
		"meta/fakemeta/double.go":        metaDouble,
		"meta/testdata/x/double.go":      metaDouble,
		"googleads/fakegoogle/double.go": googleDouble,
		"googleads/other/double.go":      notDouble,
		"googleads/other/double_test.go": strings.Replace(metaDouble, "fakemeta", "other", 1),
		"googleads/notes.txt":            "not a package",
		"unregistered/fakeunr/double.go": metaDouble,
	})
	src, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := string(src)
	for _, want := range []string{Header + "\n", "\n\npackage fakes\n",
		"\t\"github.com/hubtrack/hub/internal/dest/desttest\"\n" +
			"\t\"github.com/hubtrack/hub/internal/dest/googleads/fakegoogle\"\n" +
			"\t\"github.com/hubtrack/hub/internal/dest/meta/fakemeta\"\n)",
		"\t\tfakemeta.Double,\n\t\tfakegoogle.Double,\n\t}"} {
		if !strings.Contains(got, want) {
			t.Errorf("generated source lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(got, Header+"\n") {
		t.Errorf("generated source does not start with %q", Header)
	}
}

func TestGenerateRefuses(t *testing.T) {
	t.Parallel()
	meta := "\t\"github.com/hubtrack/hub/internal/dest/meta\"\n"
	tiktok := "\t\"github.com/hubtrack/hub/internal/dest/tiktok\"\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no double", map[string]string{
			"all/all.go":             allGo(meta+tiktok, "\tr.Register(meta.New(env))\n\tr.Register(tiktok.New(env))\n"),
			"meta/fakemeta/a.go":     metaDouble,
			"tiktok/faketiktok/a.go": notDouble,
		}, "internal/dest/tiktok has no package exporting Double"},
		{"two doubles", map[string]string{
			"all/all.go":          allGo(meta, "\tr.Register(meta.New(env))\n"),
			"meta/fakemeta/a.go":  metaDouble,
			"meta/fakemeta2/a.go": strings.Replace(metaDouble, "fakemeta", "fakemeta2", 1),
		}, "has 2 packages exporting Double"},
		{"imported, not registered", map[string]string{
			"all/all.go":         allGo(meta+tiktok, "\tr.Register(meta.New(env))\n"),
			"meta/fakemeta/a.go": metaDouble,
		}, "imports github.com/hubtrack/hub/internal/dest/tiktok (as tiktok) but does not register it"},
		{"registered twice", map[string]string{
			"all/all.go":         allGo(meta, "\tr.Register(meta.New(env))\n\tr.Register(meta.New(env))\n"),
			"meta/fakemeta/a.go": metaDouble,
		}, "registered twice"},
		{"not a destination", map[string]string{
			"all/all.go": allGo(meta, "\tr.Register(dest.New(env))\n"),
		}, "dest.New is not a destination package"},
		{"another statement", map[string]string{
			"all/all.go":         allGo(meta, "\tif env.Clock != nil {\n\t\tr.Register(meta.New(env))\n\t}\n"),
			"meta/fakemeta/a.go": metaDouble,
		}, "want only r.Register(<package>.New(env)) statements"},
		{"no Register", map[string]string{
			"all/all.go": "package all\n",
		}, "no func Register"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Generate(tree(t, tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Generate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
