//go:build race

package soak_test

// raceEnabled: the race detector slows the stations down several times;
// the window of faults grows to match.
const raceEnabled = true
