package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"tally/app/audit"
	"tally/app/election"
)

// RecordConflicts stores the municipality's list of conflicts as fetched
// now (GET /v1/municipalities/{code}/conflicts, ParseConflicts). Every
// conflict must be on a form that a station of the municipality fills,
// and name its envelope and versions well; a list that does not is
// refused and nothing is stored.
func (s *Service) RecordConflicts(ctx context.Context, l *ConflictList) error {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return err
	}
	if err := sc.checkConflicts(l); err != nil {
		return err
	}
	stored := *l
	if stored.Conflicts == nil {
		stored.Conflicts = []ConflictInfo{}
	}
	stored.FetchedAt = s.clock()
	return s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.Conflicts()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutConflicts(&stored); err != nil {
			return err
		}
		if old != nil && sameJSON(old, &stored) {
			return nil
		}
		return tx.Audit(stored.FetchedAt, audit.Event{Action: "conflicts.fetch", Subject: sc.municipality.Code,
			Actor: "commission", Details: map[string]any{"conflicts": len(stored.Conflicts), "sha256": jsonHash(&stored)}})
	})
}

func (sc *scope) checkConflicts(l *ConflictList) error {
	if l == nil {
		return fmt.Errorf("%w: no conflict list", ErrInvalidView)
	}
	if l.Municipality != sc.municipality.Code {
		return fmt.Errorf("%w: the conflict list is of municipality %q, not %s", ErrInvalidView, l.Municipality, sc.municipality.Code)
	}
	seen := map[uint64]bool{}
	for i := range l.Conflicts {
		c := &l.Conflicts[i]
		what := fmt.Sprintf("conflict %d", c.ID)
		if seen[c.ID] {
			return fmt.Errorf("%w: %s is listed twice", ErrInvalidView, what)
		}
		seen[c.ID] = true
		st, err := sc.station(c.Station)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidView, what, err)
		}
		switch {
		case !st.Fills(c.Contest, c.Form):
			return fmt.Errorf("%w: %s: station %s does not fill the %s form of contest %q", ErrInvalidView, what, st.Code, c.Form, c.Contest)
		case c.Version < 1 || c.Version > election.MaxVersion:
			return fmt.Errorf("%w: %s: version %d is outside 1–%d", ErrInvalidView, what, c.Version, election.MaxVersion)
		case election.CheckPhotoHash(c.Digest) != nil:
			return fmt.Errorf("%w: %s: %q is not a SHA-256 digest", ErrInvalidView, what, c.Digest)
		case c.Supersedes != "" && election.CheckPhotoHash(c.Supersedes) != nil:
			return fmt.Errorf("%w: %s: supersedes %q, not a SHA-256 digest", ErrInvalidView, what, c.Supersedes)
		case election.CheckPhotoHash(c.KeyID) != nil:
			return fmt.Errorf("%w: %s: key %q is not a key id", ErrInvalidView, what, c.KeyID)
		case c.At.IsZero():
			return fmt.Errorf("%w: %s: no time", ErrInvalidView, what)
		}
	}
	return nil
}

// ConflictKind is why the commission refused a conflicting submission, as
// far as what was fetched here tells.
type ConflictKind string

// The kinds of conflict.
const (
	// ConflictSameVersion: another envelope for a version the commission
	// already held (Stored is that version's digest).
	ConflictSameVersion ConflictKind = "same-version"
	// ConflictNotNext: a version that does not follow the latest one the
	// commission held then (Stored is that version's digest).
	ConflictNotNext ConflictKind = "not-next"
	// ConflictNoVersion: a version after the first while the commission
	// held none of the form.
	ConflictNoVersion ConflictKind = "no-version"
	// ConflictUnknown: the station's record is not fetched here, so the
	// version the commission held is not known.
	ConflictUnknown ConflictKind = "unknown"
)

// ConflictRow is one conflict of the commission's list, with what this
// laptop knows around it.
type ConflictRow struct {
	ConflictInfo
	StationName string
	Kind        ConflictKind
	// Stored is the digest of the version the commission held that the
	// refused envelope contradicts, and StoredVersion its number; "" and 0
	// when not known here.
	Stored        string
	StoredVersion int
	// Standing tells whether the form still stands in conflict: nothing
	// was received or decided on it since.
	Standing bool
}

// Conflicts is the commission's list of conflicts as last fetched, newest
// first.
type Conflicts struct {
	Conflicts []ConflictRow
	// FetchedAt is when the list was fetched (zero: never); Age how old
	// it is now.
	FetchedAt time.Time
	Age       time.Duration
}

// Conflicts lists the conflicts the commission recorded for the
// municipality's stations, newest first, each with the version it
// contradicts (from the station's record) and whether the form still
// stands in conflict.
func (s *Service) Conflicts(ctx context.Context) (*Conflicts, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	var (
		list     *ConflictList
		overview *Overview
		records  []StationRecord
	)
	err = s.store.View(ctx, func(r Reader) error {
		var err error
		if list, err = r.Conflicts(); errors.Is(err, ErrNotFound) {
			list = nil
		} else if err != nil {
			return err
		}
		if overview, err = r.Overview(); errors.Is(err, ErrNotFound) {
			overview = nil
		} else if err != nil {
			return err
		}
		records, err = r.StationRecords()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &Conflicts{Conflicts: []ConflictRow{}}
	if list == nil {
		return out, nil
	}
	out.FetchedAt, out.Age = list.FetchedAt, s.now().Sub(list.FetchedAt)
	ix := newDashIndex(overview, records, nil, nil, nil, nil)
	for _, c := range list.Conflicts {
		row := ConflictRow{ConflictInfo: c, Kind: ConflictUnknown}
		if st, err := sc.station(c.Station); err == nil {
			row.StationName = st.Name
		}
		forms, _ := ix.forms(c.Station)
		row.Standing = forms[formKey{c.Contest, c.Form}].State == ServerConflict
		if rec := ix.records[c.Station]; rec != nil {
			row.Kind, row.Stored, row.StoredVersion = contradicted(rec, &c)
		}
		out.Conflicts = append(out.Conflicts, row)
	}
	sort.SliceStable(out.Conflicts, func(i, j int) bool {
		a, b := out.Conflicts[i], out.Conflicts[j]
		if !a.At.Equal(b.At) {
			return a.At.After(b.At)
		}
		return a.ID > b.ID
	})
	return out, nil
}

// contradicted finds, in a station's record, the version the commission
// held that a conflict contradicts: the same version number, else the
// latest version received before the conflict.
func contradicted(rec *StationRecord, c *ConflictInfo) (ConflictKind, string, int) {
	var head *SubmissionInfo
	for i := range rec.Submissions {
		sub := &rec.Submissions[i]
		if sub.Contest != c.Contest || sub.Form != c.Form || sub.ReceivedAt.After(c.At) {
			continue // not what the commission held when it refused the envelope
		}
		if sub.Version == c.Version {
			return ConflictSameVersion, sub.Digest, sub.Version
		}
		if head == nil || sub.Version > head.Version {
			head = sub
		}
	}
	if head == nil {
		return ConflictNoVersion, "", 0
	}
	return ConflictNotNext, head.Digest, head.Version
}
