//go:build ignore

// gen writes fakes_gen.go from ../all.go; fakes.go's go:generate line runs it.
package main

import (
	"fmt"
	"os"

	"github.com/hubtrack/hub/internal/dest/all/fakes/internal/gen"
)

func main() {
	src, err := gen.Generate("..")
	if err == nil {
		err = os.WriteFile("fakes_gen.go", src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
