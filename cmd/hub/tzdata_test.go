package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryEmbedsZoneData: the image may have no /usr/share/zoneinfo, and reports are read in
// the tenant's zone, so the binary carries the zone database (time/tzdata) itself.
func TestBinaryEmbedsZoneData(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if !slices.Contains(strings.Fields(string(out)), "time/tzdata") {
		t.Error("hub does not import time/tzdata: a host without zoneinfo cannot load America/Sao_Paulo")
	}
}
