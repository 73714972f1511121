// Package faulttest is Hub's fault suite: its tests start the hub binary as a child process on
// each store, drive load, inject a fault (kill -9, a slow or failing Meta, a bad token, ...),
// restart, and check Hub's promises with counts: every acknowledged event or order is stored,
// every paid order reaches Meta once by event id (a repeat only as a resend Hub recorded), and
// none later than a bound. Each scenario prints one line
//
//	fault: <name> store=<s> acked=N stored=N lost=N dup=N late=N
//
// and docs/reliability.md keeps the table. The package has no code outside its tests.
package faulttest
