package fakes_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/hubtrack/hub/internal/dest/all/fakes/internal/gen"
)

// fakes_gen.go is what the generator writes from dest/all's all.go today: a destination
// registered there and not yet listed here (or listed in another order) fails.
func TestGeneratedListIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := gen.Generate("..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("fakes_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("fakes_gen.go is stale: run go generate ./internal/dest/all/fakes\nwant:\n%s", want)
	}
}
