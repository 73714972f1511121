// Package archtest holds the package dependency rules of docs/architecture.md as a table, and
// the test that checks them against the imports `go list` reports for the real tree.
package archtest
