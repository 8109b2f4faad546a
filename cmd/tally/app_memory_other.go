//go:build !unix

package main

import (
	"context"
	"io"
)

// serveHeapProfiles does nothing where there is no SIGUSR1.
func serveHeapProfiles(context.Context, io.Writer) {}
