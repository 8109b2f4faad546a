//go:build !unix

package soak_test

func raiseOpenFiles() {}

func openFiles() int { return 1 << 14 }
