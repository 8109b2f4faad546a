package audit_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
)

func chain(t *testing.T, n int) []audit.Record {
	t.Helper()
	at := time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC)
	var out []audit.Record
	var prev *audit.Record
	for i := range n {
		r, err := audit.Next(prev, at.Add(time.Duration(i)*time.Second), audit.Event{
			Action: "form.save", Subject: "ASM/results", Actor: "Arta Krasniqi",
			Details: map[string]any{"field": "B", "value": i}})
		require.NoError(t, err)
		out = append(out, r)
		prev = &out[len(out)-1]
	}
	return out
}

func verify(records []audit.Record) error {
	var v audit.Verifier
	for _, r := range records {
		if err := v.Add(r); err != nil {
			return err
		}
	}
	return nil
}

func TestNext(t *testing.T) {
	rs := chain(t, 3)
	assert.Equal(t, uint64(1), rs[0].Seq)
	assert.Equal(t, audit.Genesis, rs[0].Prev)
	assert.Equal(t, rs[0].Hash, rs[1].Prev)
	assert.Equal(t, rs[1].Hash, rs[2].Prev)
	assert.JSONEq(t, `{"field":"B","value":2}`, string(rs[2].Details))
	assert.Len(t, rs[0].Hash, 64)

	t.Run("NoDetails", func(t *testing.T) {
		r, err := audit.Next(nil, time.Now(), audit.Event{Action: "station.provision"})
		require.NoError(t, err)
		assert.Equal(t, "{}", string(r.Details))
	})
	t.Run("TimeToTheMicrosecondInUTC", func(t *testing.T) {
		at := time.Date(2026, 10, 4, 21, 0, 0, 123456789, time.FixedZone("CET", 3600))
		r, err := audit.Next(nil, at, audit.Event{Action: "x"})
		require.NoError(t, err)
		assert.Equal(t, time.UTC, r.At.Location())
		assert.Equal(t, 123456000, r.At.Nanosecond())
	})
	for name, e := range map[string]audit.Event{
		"ErrNoAction":       {},
		"ErrLongAction":     {Action: strings.Repeat("a", audit.MaxActionLength+1)},
		"ErrLongSubject":    {Action: "x", Subject: strings.Repeat("s", audit.MaxSubjectLength+1)},
		"ErrLongActor":      {Action: "x", Actor: strings.Repeat("s", audit.MaxActorLength+1)},
		"ErrNotUTF8":        {Action: "x", Actor: "\xff"},
		"ErrDetailsTooBig":  {Action: "x", Details: map[string]any{"a": strings.Repeat("x", audit.MaxDetailsSize)}},
		"ErrDetailsNotJSON": {Action: "x", Details: map[string]any{"a": func() {}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := audit.Next(nil, time.Now(), e)
			assert.Error(t, err)
		})
	}
}

func TestVerifier(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var v audit.Verifier
		assert.Nil(t, v.Head())
		for _, r := range chain(t, 5) {
			require.NoError(t, v.Add(r))
		}
		assert.Equal(t, uint64(5), v.Count())
		assert.Equal(t, uint64(5), v.Head().Seq)
	})
	tamper := map[string]func([]audit.Record) []audit.Record{
		"ErrEditedDetails": func(rs []audit.Record) []audit.Record {
			rs[2].Details = json.RawMessage(`{"field":"B","value":999}`)
			return rs
		},
		"ErrEditedActor": func(rs []audit.Record) []audit.Record { rs[1].Actor = "Someone else"; return rs },
		"ErrEditedTime": func(rs []audit.Record) []audit.Record {
			rs[3].At = rs[3].At.Add(time.Microsecond)
			return rs
		},
		"ErrEditedAction":   func(rs []audit.Record) []audit.Record { rs[0].Action = "form.seal"; return rs },
		"ErrEditedSubject":  func(rs []audit.Record) []audit.Record { rs[4].Subject = "MAY-01/results"; return rs },
		"ErrRemoved":        func(rs []audit.Record) []audit.Record { return append(rs[:2], rs[3:]...) },
		"ErrFirstRemoved":   func(rs []audit.Record) []audit.Record { return rs[1:] },
		"ErrSwapped":        func(rs []audit.Record) []audit.Record { rs[1], rs[2] = rs[2], rs[1]; return rs },
		"ErrDetailsNotJSON": func(rs []audit.Record) []audit.Record { rs[2].Details = json.RawMessage(`[1]`); return rs },
		"ErrRehashedInPlace": func(rs []audit.Record) []audit.Record {
			// Editing a record and recomputing its own hash still breaks the
			// link from the record after it.
			r, err := audit.Next(&rs[0], rs[1].At, audit.Event{Action: "form.save", Subject: "ASM/results",
				Actor: "Arta Krasniqi", Details: map[string]any{"field": "B", "value": 1000}})
			if err != nil {
				panic(err)
			}
			rs[1] = r
			return rs
		},
	}
	for name, change := range tamper {
		t.Run(name, func(t *testing.T) {
			err := verify(change(chain(t, 5)))
			assert.True(t, errors.Is(err, audit.ErrBroken), "got %v", err)
		})
	}
}

func TestHashCoversEveryField(t *testing.T) {
	// Two records that differ only in where one field ends and the next
	// begins must not share a hash.
	at := time.Date(2026, 10, 4, 19, 0, 0, 0, time.UTC)
	a, err := audit.Next(nil, at, audit.Event{Action: "ab", Subject: "c"})
	require.NoError(t, err)
	b, err := audit.Next(nil, at, audit.Event{Action: "a", Subject: "bc"})
	require.NoError(t, err)
	assert.NotEqual(t, a.Hash, b.Hash)
}
