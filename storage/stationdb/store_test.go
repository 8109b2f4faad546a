package stationdb_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
)

func TestDefinition(t *testing.T) {
	db, _ := openDB(t)
	view(t, db, func(r station.Reader) error {
		_, err := r.Definition()
		assert.ErrorIs(t, err, station.ErrNotProvisioned)
		return nil
	})

	update(t, db, func(tx station.Tx) error { return tx.PutDefinition([]byte("signed v1")) })
	err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutDefinition([]byte("signed v2")) })
	assert.ErrorIs(t, err, station.ErrAlreadyProvisioned)
	view(t, db, func(r station.Reader) error {
		def, err := r.Definition()
		assert.Equal(t, []byte("signed v1"), def)
		return err
	})
}

func TestProvisioning(t *testing.T) {
	db, _ := openDB(t)
	view(t, db, func(r station.Reader) error {
		_, err := r.Provisioning()
		assert.ErrorIs(t, err, station.ErrNotProvisioned)
		return nil
	})

	p := provisioning()
	update(t, db, func(tx station.Tx) error { return tx.PutProvisioning(p) })
	view(t, db, func(r station.Reader) error {
		got, err := r.Provisioning()
		assert.Equal(t, p, got)
		return err
	})

	t.Run("Updated", func(t *testing.T) {
		p.Throttle = seal.Throttle{Failures: 3, NotBefore: t0.Add(4 * time.Second)}
		p.Sequence = 17
		update(t, db, func(tx station.Tx) error { return tx.PutProvisioning(p) })
		view(t, db, func(r station.Reader) error {
			got, err := r.Provisioning()
			assert.Equal(t, p, got)
			return err
		})
	})

	t.Run("ErrSequenceBack", func(t *testing.T) {
		back := *p
		back.Sequence = 16
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutProvisioning(&back) })
		assert.ErrorContains(t, err, "the sequence never goes back")
	})

	t.Run("ErrSequenceTooLarge", func(t *testing.T) {
		big := *p
		big.Sequence = 1 << 63
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutProvisioning(&big) })
		assert.ErrorContains(t, err, "larger than the database can hold")
	})
}

func TestSheet(t *testing.T) {
	db, _ := openDB(t)

	t.Run("NeverOpened", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			sh, err := r.Sheet(results)
			assert.Equal(t, station.NewSheet(results), sh)
			assert.NotNil(t, sh.First.Values)
			sheets, _ := r.Sheets()
			assert.Empty(t, sheets)
			return err
		})
	})

	want := &station.Sheet{Key: results, State: station.StateDifferences, Version: 2,
		First:      station.Draft{By: "Arta Krasniqi", Values: map[election.Field]int{"A": 120, "B": 0}},
		Second:     station.Draft{By: "Besnik Gashi", Values: map[election.Field]int{"A": 121}},
		Resolved:   map[election.Field]int{"A": 120},
		Remarks:    "Ballot box seal intact.",
		Objections: "None.",
		Photo:      digest([]byte("photo")),
		Confirmed:  []election.Confirmation{{Rule: "R3", Explanation: "Two voters left with their ballots."}},
		Head:       sealed(results, 1, "", 1).Digest,
		Reason:     "Recount row B.",
		Updated:    t0,
	}
	other := station.NewSheet(candidates)
	other.State = station.StateFirstEntry
	other.First.By = "Arta Krasniqi"
	other.First.Values["K1"] = 5
	other.Updated = t0.Add(time.Second)

	update(t, db, func(tx station.Tx) error {
		for _, sh := range []*station.Sheet{want, other} {
			if err := tx.PutSheet(sh); err != nil {
				return err
			}
		}
		for _, v := range []struct {
			key     station.FormKey
			version int
			entry   station.Entry
			field   election.Field
			value   int
			present bool
		}{
			{results, 1, station.First, "A", 99, true}, // an earlier version's typing stays apart
			{results, 2, station.First, "A", 100, true},
			{results, 2, station.First, "A", 120, true}, // retyped
			{results, 2, station.First, "B", 0, true},   // zero is a value, not an empty field
			{results, 2, station.First, "C", 7, true},
			{results, 2, station.First, "C", 0, false}, // emptied again
			{results, 2, station.Second, "A", 121, true},
			{candidates, 1, station.First, "K1", 5, true},
		} {
			if err := tx.PutValue(v.key, v.version, v.entry, v.field, v.value, v.present); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("OK", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			got, err := r.Sheet(results)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			sheets, err := r.Sheets()
			assert.Equal(t, []*station.Sheet{other, want}, sheets) // by contest, then form
			return err
		})
	})

	t.Run("Replaced", func(t *testing.T) {
		next := *want
		next.State, next.Version, next.Resolved, next.Confirmed = station.StateFirstEntry, 3, nil, nil
		next.First = station.Draft{By: "Arta Krasniqi", Values: map[election.Field]int{}}
		next.Second = station.Draft{Values: map[election.Field]int{}}
		update(t, db, func(tx station.Tx) error { return tx.PutSheet(&next) })
		view(t, db, func(r station.Reader) error {
			got, err := r.Sheet(results)
			assert.Equal(t, &next, got)
			return err
		})
	})

	t.Run("ErrNoSuchEntry", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error {
			return tx.PutValue(results, 3, station.Entry(3), "A", 1, true)
		})
		assert.ErrorContains(t, err, "no entry 3")
	})
}

func TestPhoto(t *testing.T) {
	db, _ := openDB(t)
	data := []byte("\xff\xd8 a photo of the paper form")
	sha := digest(data)
	update(t, db, func(tx station.Tx) error { return tx.PutPhoto(sha, data) })
	update(t, db, func(tx station.Tx) error { return tx.PutPhoto(sha, data) }) // again: nothing changes

	view(t, db, func(r station.Reader) error {
		got, err := r.Photo(sha)
		assert.Equal(t, data, got)
		return err
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			_, err := r.Photo(digest([]byte("other")))
			assert.ErrorIs(t, err, station.ErrNotFound)
			return nil
		})
	})

	t.Run("ErrWrongDigest", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error {
			return tx.PutPhoto(digest([]byte("other")), data)
		})
		assert.ErrorContains(t, err, "is not the SHA-256 of its bytes")
	})
}

func TestVersions(t *testing.T) {
	db, _ := openDB(t)
	v1 := sealed(results, 1, "", 1)
	w1 := sealed(mayor, 1, "", 2)
	v2 := sealed(results, 2, v1.Digest, 3)
	for _, v := range []station.Version{v1, w1, v2} {
		update(t, db, func(tx station.Tx) error { return tx.AppendVersion(&v) })
	}

	t.Run("OK", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			versions, err := r.Versions(results)
			require.NoError(t, err)
			assert.Equal(t, []station.Version{v1, v2}, versions)

			var all []station.Version
			require.NoError(t, r.AllVersions(func(v station.Version) error {
				all = append(all, v)
				return nil
			}))
			assert.Equal(t, []station.Version{v1, w1, v2}, all, "in the order sealed")

			got, err := r.Version(w1.Digest)
			require.NoError(t, err)
			assert.Equal(t, &w1, got)
			return nil
		})
	})

	t.Run("AllVersionsStopsOnError", func(t *testing.T) {
		errStop := errors.New("stop")
		view(t, db, func(r station.Reader) error {
			n := 0
			err := r.AllVersions(func(station.Version) error { n++; return errStop })
			assert.Same(t, errStop, err)
			assert.Equal(t, 1, n)
			return nil
		})
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			_, err := r.Version(sealed(results, 9, "x", 9).Digest)
			assert.ErrorIs(t, err, station.ErrNotFound)
			return nil
		})
	})

	forked := sealed(results, 2, v1.Digest, 4) // another version 2
	cases := []struct {
		name string
		v    station.Version
		want string
	}{
		{"ErrSameDigest", v2, "already sealed"},
		{"ErrSameVersion", forked, "already sealed"},
		{"ErrGap", sealed(results, 4, v2.Digest, 5), "must supersede the version before it"},
		{"ErrWrongSupersedes", sealed(results, 3, v1.Digest, 5), "must supersede the version before it"},
		{"ErrOtherFormSuperseded", sealed(mayor, 2, v1.Digest, 5), "must supersede the version before it"},
		{"ErrFirstSupersedes", sealed(candidates, 1, v1.Digest, 5), "CHECK constraint failed"},
		{"ErrWrongDigest", func() station.Version { v := sealed(results, 3, v2.Digest, 5); v.Digest = v1.Digest; return v }(),
			"is not the SHA-256 of its bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := db.Update(t.Context(), func(tx station.Tx) error { return tx.AppendVersion(&c.v) })
			assert.ErrorContains(t, err, c.want)
			view(t, db, func(r station.Reader) error {
				n := 0
				assert.NoError(t, r.AllVersions(func(station.Version) error { n++; return nil }))
				assert.Equal(t, 3, n)
				return nil
			})
		})
	}
}

func TestOutbox(t *testing.T) {
	db, _ := openDB(t)
	v1 := sealed(results, 1, "", 1)
	w1 := sealed(mayor, 1, "", 2)
	c1 := sealed(candidates, 1, "", 3)
	second := t0.Truncate(time.Second)
	update(t, db, func(tx station.Tx) error {
		for _, q := range []struct {
			v  station.Version
			at time.Time
		}{
			// The wall clock was set back after v1 was sealed: the order
			// is the station's sequence all the same.
			{v1, second.Add(500 * time.Millisecond)},
			{w1, second},
			{c1, second},
		} {
			if err := tx.AppendVersion(&q.v); err != nil {
				return err
			}
			if err := tx.Enqueue(q.v.Digest, q.at); err != nil {
				return err
			}
		}
		return nil
	})
	outbox := func(t *testing.T) []station.OutboxItem {
		t.Helper()
		var items []station.OutboxItem
		view(t, db, func(r station.Reader) error {
			var err error
			items, err = r.Outbox()
			return err
		})
		return items
	}
	assert.Equal(t, []station.OutboxItem{
		{Digest: v1.Digest, Key: results, Version: 1, QueuedAt: second.Add(500 * time.Millisecond)},
		{Digest: w1.Digest, Key: mayor, Version: 1, QueuedAt: second},
		{Digest: c1.Digest, Key: candidates, Version: 1, QueuedAt: second},
	}, outbox(t))

	t.Run("ErrQueuedTwice", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.Enqueue(v1.Digest, t0) })
		assert.ErrorContains(t, err, "already queued or receipted")
	})

	t.Run("ErrNotSealed", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error {
			return tx.Enqueue(sealed(results, 5, "x", 5).Digest, t0)
		})
		assert.ErrorContains(t, err, "FOREIGN KEY")
	})

	rv := receiptOf(v1, 1042)
	rw := receiptOf(w1, 1043)
	t.Run("ReceiptTakesItOut", func(t *testing.T) {
		update(t, db, func(tx station.Tx) error { return tx.PutReceipt(&rv) })
		update(t, db, func(tx station.Tx) error { return tx.PutReceipt(&rw) })
		assert.Equal(t, []station.OutboxItem{
			{Digest: c1.Digest, Key: candidates, Version: 1, QueuedAt: second},
		}, outbox(t))
		view(t, db, func(r station.Reader) error {
			got, err := r.Receipt(v1.Digest)
			require.NoError(t, err)
			assert.Equal(t, &rv, got)
			all, err := r.Receipts()
			assert.Equal(t, []station.StoredReceipt{rv, rw}, all)
			return err
		})
	})

	t.Run("SameReceiptAgain", func(t *testing.T) {
		update(t, db, func(tx station.Tx) error { return tx.PutReceipt(&rv) })
		view(t, db, func(r station.Reader) error {
			all, err := r.Receipts()
			assert.Len(t, all, 2)
			return err
		})
	})

	t.Run("ErrOtherReceipt", func(t *testing.T) {
		other := receiptOf(v1, 2000)
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutReceipt(&other) })
		assert.ErrorContains(t, err, "already receipted")
		view(t, db, func(r station.Reader) error {
			got, err := r.Receipt(v1.Digest)
			assert.Equal(t, &rv, got)
			return err
		})
	})

	t.Run("ErrReceiptOfUnknownVersion", func(t *testing.T) {
		stray := receiptOf(sealed(results, 7, "x", 7), 3000)
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutReceipt(&stray) })
		assert.ErrorContains(t, err, "FOREIGN KEY")
	})

	t.Run("ErrQueuedAfterReceipt", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.Enqueue(v1.Digest, t0) })
		assert.ErrorContains(t, err, "already queued or receipted")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		view(t, db, func(r station.Reader) error {
			_, err := r.Receipt(c1.Digest)
			assert.ErrorIs(t, err, station.ErrNotFound)
			return nil
		})
	})
}

func TestDecisions(t *testing.T) {
	db, _ := openDB(t)
	v1 := sealed(results, 1, "", 1)
	returned := decisionOn(v1, election.Return, "Row B does not add up.")
	approved := decisionOn(v1, election.Approve, "")
	update(t, db, func(tx station.Tx) error { return tx.AppendVersion(&v1) })
	for _, d := range []station.StoredDecision{returned, approved, returned} { // the last is a repeat
		update(t, db, func(tx station.Tx) error { return tx.PutDecision(&d) })
	}
	view(t, db, func(r station.Reader) error {
		all, err := r.Decisions()
		assert.Equal(t, []station.StoredDecision{returned, approved}, all)
		return err
	})
}

func TestAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	db, err := stationdb.Open(t.Context(), path)
	require.NoError(t, err)

	prishtina := time.FixedZone("CEST", 2*60*60)
	events := [][]time.Time{
		{t0, t0.Add(time.Millisecond)},              // two records in one transaction
		{t0.Truncate(time.Second).Add(time.Second)}, // a whole second: no fraction in the text
		{t0.In(prishtina).Add(time.Minute)},         // not UTC
		{t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(time.Hour)},
	}
	var want []time.Time
	for i, batch := range events {
		update(t, db, func(tx station.Tx) error {
			for _, at := range batch {
				if err := tx.Audit(at, audit.Event{Action: "form.save", Subject: results.String(),
					Actor: "Arta Krasniqi", Details: map[string]any{"batch": i, "field": "A"}}); err != nil {
					return err
				}
				want = append(want, at.UTC().Truncate(time.Microsecond))
			}
			return nil
		})
	}
	require.NoError(t, db.Close())

	verify := func(t *testing.T, db *stationdb.DB) {
		t.Helper()
		var v audit.Verifier
		var got []time.Time
		view(t, db, func(r station.Reader) error {
			return r.AuditRecords(func(rec audit.Record) error {
				got = append(got, rec.At)
				return v.Add(rec)
			})
		})
		assert.Equal(t, uint64(len(want)), v.Count())
		assert.Equal(t, want, got)
	}

	db, err = stationdb.Open(t.Context(), path)
	require.NoError(t, err)
	defer func() { assert.NoError(t, db.Close()) }()
	t.Run("VerifiesAfterReopen", func(t *testing.T) { verify(t, db) })

	t.Run("ErrEditedBySQL", func(t *testing.T) {
		_, err := rawDB(t, path).Exec("UPDATE audit SET actor = 'someone else' WHERE seq = 2")
		assert.ErrorContains(t, err, "audit: a record is never changed")
		verify(t, db)
	})

	t.Run("ErrInvalidEvent", func(t *testing.T) {
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.Audit(t0, audit.Event{}) })
		assert.ErrorContains(t, err, "action")
		verify(t, db)
	})

	t.Run("AuditRecordsStopsOnError", func(t *testing.T) {
		errStop := errors.New("stop")
		view(t, db, func(r station.Reader) error {
			assert.Same(t, errStop, r.AuditRecords(func(audit.Record) error { return errStop }))
			return nil
		})
	})
}
