//go:build unix

package soak_test

import "syscall"

// wantOpenFiles is what a full soak needs: each station's SQLite file
// and connections, thousands at once.
const wantOpenFiles = 1 << 16

// raiseOpenFiles lifts the limit on open files as far as this process may
// (Go already raises the soft limit to the hard one).
func raiseOpenFiles() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max >= wantOpenFiles {
		return
	}
	want := syscall.Rlimit{Cur: wantOpenFiles, Max: wantOpenFiles}
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) // allowed as root only
}

// openFiles is the limit on open files.
func openFiles() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	return int(min(lim.Cur, 1<<30))
}
