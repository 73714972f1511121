// Command racy has one data race on purpose. scripts/test runs it with the race detector and
// the -gcflags that leave modernc's SQLite engine uninstrumented, and fails unless the detector
// reports the race: proof that those flags leave this module's own code instrumented.
package main

import "fmt"

func main() {
	n := 0
	done := make(chan struct{})
	go func() {
		n++ // unsynchronised with main's write below: the race
		close(done)
	}()
	n++
	<-done
	fmt.Println(n)
}
