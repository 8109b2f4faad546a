package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// MaxPhotoSize bounds the photo or scan of a paper form, as the station
// bounds it.
const MaxPhotoSize = 20 << 20

// Recording what was fetched: each use case checks what it is given, then
// stores it with the time it was fetched. Views are replaced by the newer
// fetch; submissions and photos are kept for good. A change of content is
// audited; a fetch that brought nothing new only moves the fetch time.

// RecordOverview stores the municipality's overview as fetched now.
func (s *Service) RecordOverview(ctx context.Context, o *Overview) error {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return err
	}
	if err := sc.checkOverview(o); err != nil {
		return err
	}
	stored := *o
	stored.FetchedAt = s.clock()
	return s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.Overview()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutOverview(&stored); err != nil {
			return err
		}
		if old != nil && sameJSON(old, &stored) {
			return nil
		}
		return tx.Audit(stored.FetchedAt, audit.Event{Action: "overview.fetch", Subject: sc.municipality.Code,
			Actor: "commission", Details: map[string]any{"stations": len(stored.Stations), "sha256": jsonHash(&stored)}})
	})
}

// RecordStation stores a station's record as fetched now. Each receipt
// in it must verify under the commission's receipt key and name the
// version it is listed with.
func (s *Service) RecordStation(ctx context.Context, r *StationRecord) error {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return err
	}
	if err := sc.checkStationRecord(r); err != nil {
		return err
	}
	stored := *r
	stored.FetchedAt = s.clock()
	return s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.StationRecord(r.Station.Code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutStationRecord(&stored); err != nil {
			return err
		}
		if old != nil && sameJSON(old, &stored) {
			return nil
		}
		return tx.Audit(stored.FetchedAt, audit.Event{Action: "station.fetch", Subject: r.Station.Code,
			Actor: "commission", Details: map[string]any{"submissions": len(r.Submissions),
				"decisions": len(r.Decisions), "conflicts": len(r.Conflicts), "sha256": jsonHash(&stored)}})
	})
}

// RecordKeyList verifies the commission's signed list of enrolled keys
// under the definition's receipt key and stores it. A list generated
// before the stored one is refused (ErrStaleKeyList).
func (s *Service) RecordKeyList(ctx context.Context, raw []byte) (*enrollment.KeyList, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	list, err := enrollment.OpenKeyList(raw, sc.receipt, sc.def.Election.ID)
	if err != nil {
		return nil, err
	}
	at := s.clock()
	stored := &KeyList{Envelope: raw, Digest: seal.Digest(raw), GeneratedAt: list.GeneratedAt.UTC(), FetchedAt: at}
	err = s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.KeyList()
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case stored.GeneratedAt.Before(old.GeneratedAt):
			return fmt.Errorf("%w: it was generated at %s, the stored one at %s", ErrStaleKeyList,
				stored.GeneratedAt.Format("2006-01-02T15:04:05.999999Z07:00"), old.GeneratedAt.Format("2006-01-02T15:04:05.999999Z07:00"))
		}
		if err := tx.PutKeyList(stored); err != nil {
			return err
		}
		if old != nil && old.Digest == stored.Digest {
			return nil
		}
		revoked := 0
		for _, k := range list.Keys {
			if k.RevokedAt != nil {
				revoked++
			}
		}
		return tx.Audit(at, audit.Event{Action: "keys.fetch", Subject: sc.def.Election.ID, Actor: "commission",
			Details: map[string]any{"digest": stored.Digest, "generated_at": stored.GeneratedAt,
				"keys": len(list.Keys), "revoked": revoked}})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// RecordSubmission verifies a station's envelope here against the stored
// key list (see OpenSubmission) and keeps it. Whatever does not verify is
// refused and nothing is stored. The same envelope again changes nothing.
func (s *Service) RecordSubmission(ctx context.Context, raw []byte) (*Envelope, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	var stored *Envelope
	err = s.store.Update(ctx, func(tx Tx) error {
		list, err := storedKeyList(tx)
		if err != nil {
			return err
		}
		klist, err := sc.openKeyList(list)
		if err != nil {
			return err
		}
		v, err := sc.verifySubmission(klist, raw)
		if err != nil {
			return err
		}
		if old, err := tx.Envelope(v.digest); err == nil {
			stored = old
			return errUnchanged
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		stored = v.envelopeRecord(raw)
		stored.FetchedAt = s.clock()
		if err := tx.AppendEnvelope(stored); err != nil {
			return err
		}
		return tx.Audit(stored.FetchedAt, audit.Event{Action: "submission.fetch", Subject: formSubject(stored),
			Actor: v.keyID, Details: map[string]any{"version": stored.Version, "digest": stored.Digest,
				"supersedes": stored.Supersedes}})
	})
	if err := ignoreUnchanged(err); err != nil {
		return nil, err
	}
	return stored, nil
}

// RecordPhoto keeps the photo of a paper form, which must hash to the
// SHA-256 it was fetched under. The same photo again changes nothing.
func (s *Service) RecordPhoto(ctx context.Context, sha string, data []byte) error {
	if err := election.CheckPhotoHash(sha); err != nil {
		return err
	}
	if len(data) > MaxPhotoSize {
		return fmt.Errorf("photo %s: %d bytes, more than the limit of %d", sha, len(data), MaxPhotoSize)
	}
	if got := sha256Hex(data); got != sha {
		return fmt.Errorf("%w: fetched as %s, its bytes hash to %s", ErrPhotoMismatch, sha, got)
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if have, err := tx.HasPhoto(sha); err != nil || have {
			return err
		}
		at := s.clock()
		if err := tx.PutPhoto(sha, data, at); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "photo.fetch", Subject: sha, Actor: "commission",
			Details: map[string]any{"size": len(data)}})
	})
}

// storedKeyList is the stored key list, or ErrNoKeyList.
func storedKeyList(r Reader) (*KeyList, error) {
	l, err := r.KeyList()
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoKeyList
	}
	return l, err
}

func (sc *scope) checkOverview(o *Overview) error {
	if o == nil {
		return fmt.Errorf("%w: no overview", ErrInvalidView)
	}
	if o.Municipality != sc.municipality.Code {
		return fmt.Errorf("%w: the overview is of municipality %q, not %s", ErrInvalidView, o.Municipality, sc.municipality.Code)
	}
	seen := map[string]bool{}
	for i := range o.Stations {
		ms := &o.Stations[i]
		if seen[ms.Code] {
			return fmt.Errorf("%w: station %s is listed twice", ErrInvalidView, ms.Code)
		}
		seen[ms.Code] = true
		st, err := sc.station(ms.Code)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidView, err)
		}
		if err := checkForms(st, ms.Forms); err != nil {
			return err
		}
	}
	return nil
}

func (sc *scope) checkStationRecord(r *StationRecord) error {
	if r == nil {
		return fmt.Errorf("%w: no station record", ErrInvalidView)
	}
	st, err := sc.station(r.Station.Code)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidView, err)
	}
	if err := checkForms(st, r.Forms); err != nil {
		return err
	}
	for i := range r.Submissions {
		if err := sc.checkReceipt(st, &r.Submissions[i]); err != nil {
			return err
		}
	}
	for _, d := range r.Decisions {
		if d.Station != st.Code || !st.Fills(d.Contest, d.Form) {
			return fmt.Errorf("%w: station %s's record lists a decision on %s/%s/%s", ErrInvalidView, st.Code, d.Station, d.Contest, d.Form)
		}
	}
	for _, c := range r.Conflicts {
		if c.Station != st.Code || !st.Fills(c.Contest, c.Form) {
			return fmt.Errorf("%w: station %s's record lists a conflict on %s/%s/%s", ErrInvalidView, st.Code, c.Station, c.Contest, c.Form)
		}
	}
	return nil
}

// checkReceipt verifies a listed version's receipt: the commission's
// signed word, which must name that very version.
func (sc *scope) checkReceipt(st *election.Station, s *SubmissionInfo) error {
	what := fmt.Sprintf("station %s's version %d of %s/%s", st.Code, s.Version, s.Contest, s.Form)
	if !st.Fills(s.Contest, s.Form) {
		return fmt.Errorf("%w: %s is not a form the station fills", ErrInvalidView, what)
	}
	opened, err := seal.Open(s.Receipt, election.MaxAnswerSize*2+4096, election.ReceiptPayloadType, sc.receipt)
	if err != nil {
		return fmt.Errorf("%w: the receipt of %s: %v", ErrInvalidView, what, err)
	}
	rc, err := election.ParseReceipt(opened.Payload)
	if err != nil {
		return fmt.Errorf("%w: the receipt of %s: %v", ErrInvalidView, what, err)
	}
	if rc.Election != sc.def.Election.ID || rc.Station != st.Code || rc.Contest != s.Contest || rc.Form != s.Form ||
		rc.Version != s.Version || rc.Submission != s.Digest || rc.Number != s.Number {
		return fmt.Errorf("%w: the receipt of %s names another submission (%s version %d, %s)", ErrInvalidView,
			what, rc.Station, rc.Version, rc.Submission)
	}
	return nil
}

func checkForms(st *election.Station, forms []FormStatus) error {
	for _, f := range forms {
		what := fmt.Sprintf("station %s, %s/%s", st.Code, f.Contest, f.Form)
		switch {
		case !st.Fills(f.Contest, f.Form):
			return fmt.Errorf("%w: %s is not a form the station fills", ErrInvalidView, what)
		case !f.State.known():
			return fmt.Errorf("%w: %s: state %q is unknown", ErrInvalidView, what, f.State)
		case f.Version < 0 || f.Version > election.MaxVersion:
			return fmt.Errorf("%w: %s: version %d is outside 0–%d", ErrInvalidView, what, f.Version, election.MaxVersion)
		case (f.State == ServerNotStarted) != (f.Version == 0):
			return fmt.Errorf("%w: %s: state %s with version %d", ErrInvalidView, what, f.State, f.Version)
		case f.Version > 0 && election.CheckPhotoHash(f.Digest) != nil:
			return fmt.Errorf("%w: %s: %q is not a SHA-256 digest", ErrInvalidView, what, f.Digest)
		}
	}
	return nil
}

func formSubject(e *Envelope) string { return e.Station + "/" + e.Contest + "/" + string(e.Form) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// jsonHash is the SHA-256 of a view's JSON, its fetch time left out.
func jsonHash(v any) string {
	b, _ := json.Marshal(v) // the views marshal without error
	return sha256Hex(b)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
