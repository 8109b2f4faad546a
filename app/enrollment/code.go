// Package enrollment makes and checks the one-time codes that bind a
// station's or a supervisor's key to its place in the election.
//
// The commission prints one code per station and per municipal
// supervisor; the code travels on paper with the polling-station kit and
// is typed once, at provisioning. The server keeps only its hash.
package enrollment

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// alphabet is Crockford's base32: no I, L, O or U, so a code read aloud
// or copied by hand is hard to get wrong.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Shape of a code: 15 symbols (75 bits) in three groups of five.
const (
	symbols   = 15
	groupSize = 5
)

// ErrMalformed refuses a typed code that cannot be a code at all.
var ErrMalformed = errors.New("enrollment code: not a code (15 letters and digits, as XXXXX-XXXXX-XXXXX)")

// Role says who a code enrolls.
type Role string

// The roles.
const (
	RoleStation    Role = "station"
	RoleSupervisor Role = "supervisor"
)

// NewCode draws a fresh code from rand, which must be a cryptographic
// source (crypto/rand.Reader).
func NewCode(rand io.Reader) (string, error) {
	var buf [symbols]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return "", fmt.Errorf("enrollment code: %w", err)
	}
	var b strings.Builder
	for i, v := range buf {
		if i > 0 && i%groupSize == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[v&31]) // 256 is a multiple of 32: no bias
	}
	return b.String(), nil
}

// Normalize reads a code as a person types it: any case, with or without
// hyphens and spaces, O for 0 and I or L for 1. It returns the canonical
// form XXXXX-XXXXX-XXXXX.
func Normalize(typed string) (string, error) {
	var out []byte
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(alphabet, byte(r)) < 0 {
			return "", ErrMalformed
		}
		if len(out) > 0 && len(out)%(groupSize+1) == groupSize {
			out = append(out, '-')
		}
		out = append(out, byte(r))
	}
	if len(out) != symbols+symbols/groupSize-1 {
		return "", ErrMalformed
	}
	return string(out), nil
}

// Hash is what the server stores of a code: the lowercase hex SHA-256 of
// its canonical form, bound to the election, role and unit so a hash
// cannot be moved to another station.
func Hash(electionID string, role Role, unit, code string) string {
	h := sha256.New()
	for _, part := range []string{"tally-enrollment-v1", electionID, string(role), unit, code} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
