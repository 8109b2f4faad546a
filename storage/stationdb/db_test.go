package stationdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/station"
	"tally/storage/stationdb"
)

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, path := openDB(t)
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the file holds the sealed private key")

		v, err := db.SchemaVersion(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.NoError(t, db.IntegrityCheck(t.Context()))

		var mode string
		require.NoError(t, rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
	})

	t.Run("MigrationsRecordedOnce", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.db")
		type applied struct{ Version, Name, At string }
		recorded := func() []applied {
			raw := rawDB(t, path)
			rows, err := raw.Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
			require.NoError(t, err)
			defer rows.Close()
			var out []applied
			for rows.Next() {
				var a applied
				require.NoError(t, rows.Scan(&a.Version, &a.Name, &a.At))
				out = append(out, a)
			}
			require.NoError(t, rows.Err())
			return out
		}

		db, err := stationdb.Open(t.Context(), path)
		require.NoError(t, err)
		update(t, db, func(tx station.Tx) error { return tx.PutDefinition([]byte("signed definition")) })
		require.NoError(t, db.Close())
		first := recorded()
		require.Len(t, first, 2)
		assert.Equal(t, "1", first[0].Version)
		assert.Equal(t, "0001_station", first[0].Name)
		assert.Equal(t, "0002_delivery", first[1].Name)

		db, err = stationdb.Open(t.Context(), path)
		require.NoError(t, err)
		view(t, db, func(r station.Reader) error {
			def, err := r.Definition()
			assert.Equal(t, []byte("signed definition"), def)
			return err
		})
		require.NoError(t, db.Close())
		assert.Equal(t, first, recorded(), "a second Open applies nothing")
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.db")
		db, err := stationdb.Open(t.Context(), path)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		_, err = rawDB(t, path).Exec(
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (3, '0003_future', '2027-01-01T00:00:00Z')")
		require.NoError(t, err)

		_, err = stationdb.Open(t.Context(), path)
		require.ErrorIs(t, err, stationdb.ErrNewerSchema)
		assert.Contains(t, err.Error(), "schema version is 3, this build knows up to 2")
	})

	t.Run("PathIsEscaped", func(t *testing.T) {
		// Each of these would end or change the name in a URI.
		dir := t.TempDir()
		name := "station ?#%41&x=1.db"
		db, err := stationdb.Open(t.Context(), filepath.Join(dir, name))
		require.NoError(t, err)
		update(t, db, func(tx station.Tx) error { return tx.PutDefinition([]byte("d")) })
		require.NoError(t, db.Close())

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		assert.Equal(t, []string{name}, names)
	})

	t.Run("ErrMissingDirectory", func(t *testing.T) {
		_, err := stationdb.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "station.db"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestIntegrityCheck(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, _ := openDB(t)
		assert.NoError(t, db.IntegrityCheck(t.Context()))
	})

	t.Run("ErrCorrupt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.db")
		db, err := stationdb.Open(t.Context(), path)
		require.NoError(t, err)
		// Enough rows for the audit table to span several pages.
		for i := range 200 {
			update(t, db, func(tx station.Tx) error {
				return tx.Audit(t0, audit.Event{Action: "test.fill", Subject: "ASM", Actor: "system",
					Details: map[string]any{"i": i, "padding": "................................................"}})
			})
		}
		require.NoError(t, db.Close())

		// Scribble over the middle of the last page: a b-tree page of the
		// audit table, not the header that Open reads.
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		page := 4096
		require.Greater(t, len(data), 4*page)
		last := len(data) - page
		for i := last + 8; i < last+page-8; i++ {
			data[i] = 0xA5
		}
		require.NoError(t, os.WriteFile(path, data, 0o600))

		db, err = stationdb.Open(t.Context(), path)
		require.NoError(t, err)
		defer func() { assert.NoError(t, db.Close()) }()
		assert.ErrorContains(t, db.IntegrityCheck(t.Context()), "integrity check of "+path+": the file is damaged")
	})
}

func TestUpdate(t *testing.T) {
	errRefused := errors.New("refused")
	// change makes every kind of change, so that a rollback must undo each.
	change := func(tx station.Tx) error {
		v := sealed(results, 1, "", 1)
		sh := station.NewSheet(results)
		sh.State = station.StateFirstEntry
		for _, err := range []error{
			tx.PutDefinition([]byte("definition")),
			tx.PutProvisioning(provisioning()),
			tx.PutSheet(sh),
			tx.PutValue(results, 1, station.First, "A", 7, true),
			tx.PutPhoto(digest([]byte("photo")), []byte("photo")),
			tx.AppendVersion(&v),
			tx.Enqueue(v.Digest, t0),
			tx.Audit(t0, audit.Event{Action: "form.seal", Subject: results.String(), Actor: "chair"}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}
	assertUnchanged := func(t *testing.T, db *stationdb.DB) {
		t.Helper()
		view(t, db, func(r station.Reader) error {
			_, err := r.Definition()
			assert.ErrorIs(t, err, station.ErrNotProvisioned)
			_, err = r.Provisioning()
			assert.ErrorIs(t, err, station.ErrNotProvisioned)
			sh, err := r.Sheet(results)
			require.NoError(t, err)
			assert.Equal(t, station.NewSheet(results), sh)
			_, err = r.Photo(digest([]byte("photo")))
			assert.ErrorIs(t, err, station.ErrNotFound)
			versions, err := r.Versions(results)
			require.NoError(t, err)
			assert.Empty(t, versions)
			outbox, err := r.Outbox()
			require.NoError(t, err)
			assert.Empty(t, outbox)
			n := 0
			require.NoError(t, r.AuditRecords(func(audit.Record) error { n++; return nil }))
			assert.Zero(t, n)
			return nil
		})
	}

	t.Run("OK", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, change)
		view(t, db, func(r station.Reader) error {
			outbox, err := r.Outbox()
			assert.Len(t, outbox, 1)
			return err
		})
	})

	t.Run("ErrorRollsBack", func(t *testing.T) {
		db, _ := openDB(t)
		err := db.Update(t.Context(), func(tx station.Tx) error {
			if err := change(tx); err != nil {
				return err
			}
			return errRefused
		})
		assert.Same(t, errRefused, err, "fn's error comes back as it is")
		assertUnchanged(t, db)
	})

	t.Run("PanicRollsBack", func(t *testing.T) {
		db, _ := openDB(t)
		assert.PanicsWithValue(t, "boom", func() {
			_ = db.Update(t.Context(), func(tx station.Tx) error {
				require.NoError(t, change(tx))
				panic("boom")
			})
		})
		assertUnchanged(t, db)
		// The write connection is free again.
		update(t, db, change)
	})

	t.Run("StoreErrorsWrapped", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, func(tx station.Tx) error { return tx.PutDefinition([]byte("d")) })
		err := db.Update(t.Context(), func(tx station.Tx) error { return tx.PutDefinition([]byte("d")) })
		assert.ErrorIs(t, err, station.ErrAlreadyProvisioned)
	})
}

func TestView(t *testing.T) {
	value := func(t *testing.T, db *stationdb.DB) (int, bool) {
		t.Helper()
		var v int
		var ok bool
		view(t, db, func(r station.Reader) error {
			sh, err := r.Sheet(results)
			v, ok = sh.First.Values["A"]
			return err
		})
		return v, ok
	}
	putSheet := func(tx station.Tx) error {
		sh := station.NewSheet(results)
		sh.State = station.StateFirstEntry
		return tx.PutSheet(sh)
	}

	t.Run("DoesNotWaitForAnOpenUpdate", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, putSheet)

		written, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
		go func() {
			done <- db.Update(t.Context(), func(tx station.Tx) error {
				if err := tx.PutValue(results, 1, station.First, "A", 42, true); err != nil {
					return err
				}
				close(written)
				<-release
				return nil
			})
		}()
		<-written
		// The write transaction is open: View runs without waiting for it
		// and sees nothing of it.
		_, ok := value(t, db)
		assert.False(t, ok)
		close(release)
		require.NoError(t, <-done)

		v, ok := value(t, db)
		assert.True(t, ok)
		assert.Equal(t, 42, v)
	})

	t.Run("OneSnapshot", func(t *testing.T) {
		db, _ := openDB(t)
		update(t, db, putSheet)
		update(t, db, func(tx station.Tx) error { return tx.PutValue(results, 1, station.First, "A", 1, true) })

		view(t, db, func(r station.Reader) error {
			// Committed after View began, before fn first reads.
			done := make(chan error)
			go func() {
				done <- db.Update(t.Context(), func(tx station.Tx) error {
					return tx.PutValue(results, 1, station.First, "A", 2, true)
				})
			}()
			require.NoError(t, <-done)
			sh, err := r.Sheet(results)
			require.NoError(t, err)
			assert.Equal(t, 1, sh.First.Values["A"])

			// Committed between two reads of the same View.
			go func() {
				done <- db.Update(t.Context(), func(tx station.Tx) error {
					return tx.PutValue(results, 1, station.First, "A", 3, true)
				})
			}()
			require.NoError(t, <-done)
			sh, err = r.Sheet(results)
			require.NoError(t, err)
			assert.Equal(t, 1, sh.First.Values["A"])
			return nil
		})

		v, _ := value(t, db)
		assert.Equal(t, 3, v)
	})

	t.Run("ErrorReturned", func(t *testing.T) {
		db, _ := openDB(t)
		errStop := errors.New("stop")
		assert.Same(t, errStop, db.View(t.Context(), func(station.Reader) error { return errStop }))
	})
}
