// Package audit is the hash-chained log that both the station and the
// server append to, in the same transaction as each change it records.
//
// Each record's hash covers its own fields and the previous record's hash,
// so that removing, reordering or editing any record breaks every hash
// after it. Verify recomputes the chain from the stored fields.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Genesis is the "previous hash" of the first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Limits of a record.
const (
	MaxActionLength  = 64
	MaxSubjectLength = 256
	MaxActorLength   = 256
	MaxDetailsSize   = 64 << 10
)

// Event is what a change says about itself.
type Event struct {
	Action  string         // what happened, e.g. "form.seal"
	Subject string         // what it happened to, e.g. "ASM/results"
	Actor   string         // who did it: a commissioner's name, a key id, "system"
	Details map[string]any // anything else worth keeping; encoded as JSON
}

// Record is one stored entry of the log.
type Record struct {
	Seq     uint64
	At      time.Time
	Action  string
	Subject string
	Actor   string
	Details json.RawMessage // compact JSON object, exactly as hashed
	Prev    string          // hash of the previous record, Genesis for the first
	Hash    string
}

// Next makes the record that follows prev (nil for the first) for an event
// at the given time. The time is kept to the microsecond in UTC, as every
// store can hold it exactly.
func Next(prev *Record, at time.Time, e Event) (Record, error) {
	if err := checkEvent(e); err != nil {
		return Record{}, err
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return Record{}, fmt.Errorf("audit: details of %s: %w", e.Action, err)
		}
	}
	if len(details) > MaxDetailsSize {
		return Record{}, fmt.Errorf("audit: details of %s are larger than %d bytes", e.Action, MaxDetailsSize)
	}
	r := Record{Seq: 1, At: at.UTC().Truncate(time.Microsecond), Action: e.Action, Subject: e.Subject,
		Actor: e.Actor, Details: details, Prev: Genesis}
	if prev != nil {
		r.Seq = prev.Seq + 1
		r.Prev = prev.Hash
	}
	r.Hash = r.computeHash()
	return r, nil
}

func checkEvent(e Event) error {
	switch {
	case e.Action == "" || len(e.Action) > MaxActionLength:
		return fmt.Errorf("audit: action %q must have 1 to %d bytes", e.Action, MaxActionLength)
	case len(e.Subject) > MaxSubjectLength:
		return fmt.Errorf("audit: subject of %s is longer than %d bytes", e.Action, MaxSubjectLength)
	case len(e.Actor) > MaxActorLength:
		return fmt.Errorf("audit: actor of %s is longer than %d bytes", e.Action, MaxActorLength)
	case !utf8.ValidString(e.Action + e.Subject + e.Actor):
		return fmt.Errorf("audit: %s has text that is not UTF-8", e.Action)
	}
	return nil
}

// computeHash is SHA-256 over an unambiguous encoding of every field:
// each is length-prefixed, so no two records share an encoding.
func (r *Record) computeHash() string {
	h := sha256.New()
	field := func(s string) {
		h.Write(strconv.AppendInt(nil, int64(len(s)), 10))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	field("tally.audit/v1")
	field(strconv.FormatUint(r.Seq, 10))
	field(r.At.UTC().Format(time.RFC3339Nano))
	field(r.Action)
	field(r.Subject)
	field(r.Actor)
	field(string(r.Details))
	field(r.Prev)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrBroken marks a chain that does not verify.
var ErrBroken = errors.New("audit chain broken")

// Verifier checks records one at a time, in order, without holding them.
type Verifier struct {
	last  *Record
	count uint64
}

// Add checks the next record: its sequence number, its link to the
// previous record, and its own hash.
func (v *Verifier) Add(r Record) error {
	wantSeq, wantPrev := uint64(1), Genesis
	if v.last != nil {
		wantSeq, wantPrev = v.last.Seq+1, v.last.Hash
	}
	switch {
	case r.Seq != wantSeq:
		return fmt.Errorf("%w: record %d follows record %d (want %d)", ErrBroken, r.Seq, wantSeq-1, wantSeq)
	case r.Prev != wantPrev:
		return fmt.Errorf("%w: record %d does not link to the record before it", ErrBroken, r.Seq)
	case !json.Valid(r.Details) || !isCompactObject(r.Details):
		return fmt.Errorf("%w: record %d has details that are not a JSON object", ErrBroken, r.Seq)
	case r.computeHash() != r.Hash:
		return fmt.Errorf("%w: record %d (%s) was changed after it was written", ErrBroken, r.Seq, r.Action)
	}
	last := r
	v.last = &last
	v.count++
	return nil
}

// Count is how many records verified so far.
func (v *Verifier) Count() uint64 { return v.count }

// Head is the last record verified, nil before the first.
func (v *Verifier) Head() *Record { return v.last }

func isCompactObject(b []byte) bool {
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}'
}
