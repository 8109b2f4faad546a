// Package soak_test runs many real stations at once against a real
// tallyd through the fault proxy (sync/faults): the soak test, with
// random faults for a bounded time, and the benchmark of a queue's drain
// once the server is back.
package soak_test

import (
	"os"
	"testing"

	"tally/sync/faults/harness"
)

// tallydBin is the tallyd command, built once for the test binary.
var tallydBin string

func TestMain(m *testing.M) {
	raiseOpenFiles()
	os.Exit(harness.Main(m, &tallydBin))
}
