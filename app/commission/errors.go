package commission

import (
	"errors"
	"fmt"
)

// Kind classifies an error for whoever answers the caller: the HTTP layer
// maps each to a status.
type Kind string

// The kinds of error.
const (
	EInvalid      Kind = "invalid"      // the request is malformed or fails a rule
	ENotFound     Kind = "not-found"    // no such thing
	EConflict     Kind = "conflict"     // it contradicts what is stored
	EUnauthorized Kind = "unauthorized" // no valid proof of who is asking
	EForbidden    Kind = "forbidden"    // known, but not allowed this
	EUnavailable  Kind = "unavailable"  // try again later (shutting down, not ready)
	EInternal     Kind = "internal"     // our fault
)

// Error is an error of a kind, with a message fit for the caller.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches errors of the same kind and message, so that errors.Is works
// with the sentinel errors below.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Message == e.Message
}

// Errorf makes an *Error.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf is the kind of err: its own if it is an *Error, else EInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EInternal
}

// ErrorMessage is the message of an *Error, or a generic one that leaks
// nothing of an internal error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Errors a Store returns.
var (
	ErrNoElection = Errorf(EUnavailable, "no election has been imported")
	ErrNotFound   = Errorf(ENotFound, "not found")
)
