package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// heapProfileEnv names a file to which the app writes a heap profile each
// time it receives SIGUSR1 (on Unix), for `go tool pprof`: where the app's
// memory goes, measured on the laptop itself.
const heapProfileEnv = "TALLY_HEAP_PROFILE"

// appGCPercent and appMemoryLimit bound the Go heap of the desktop app.
// Its live heap is about 40 MB with the demo election on screen, but
// typing allocates briskly (text is measured and drawn at every
// keystroke), and the default GOGC=100 lets the heap grow to twice the
// live size between collections. The GL driver, the fonts and the
// graphics library take most of the 200 MB budget outside the Go heap, so
// the heap is collected earlier instead: a collection of this heap costs
// well under a millisecond of the UI's time. The environment's GOGC and
// GOMEMLIMIT win when set.
const (
	appGCPercent   = 40
	appMemoryLimit = 72 << 20
)

// tuneMemory applies the app's bounds on the Go heap.
func tuneMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(appGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(appMemoryLimit)
	}
}

// writeHeapProfile writes what is live on the heap now.
func writeHeapProfile(path string) error {
	runtime.GC() // the profile shows what is live now
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
