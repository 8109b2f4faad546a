//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// serveHeapProfiles writes a heap profile to $TALLY_HEAP_PROFILE on each
// SIGUSR1 until ctx ends; without the variable it does nothing.
func serveHeapProfiles(ctx context.Context, stderr io.Writer) {
	path := os.Getenv(heapProfileEnv)
	if path == "" {
		return
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(usr1)
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				if err := writeHeapProfile(path); err != nil {
					fmt.Fprintln(stderr, "tally: heap profile:", err)
				}
			}
		}
	}()
}
