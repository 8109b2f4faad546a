package review

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tally/app/audit"
	"tally/app/election"
)

// ToFetch is what the stored views name and this laptop does not hold
// yet: what the sync layer fetches next.
type ToFetch struct {
	// Stations are the stations whose own record is to be read: the
	// overview shows a version of one of their forms and their record was
	// never fetched, or the overview, fetched since, shows their forms
	// otherwise than the record does (a new version, a decision, a
	// conflict), or the list of conflicts, fetched since, holds one of
	// theirs that the record does not. In the definition's order.
	Stations []string
	// Envelopes are the digests of the versions the overview or a
	// station's record names and that are not stored, by station in the
	// definition's order, then in the order the views list them.
	Envelopes []string
	// Photos are the SHA-256 of the photos that a station's record names
	// and that are not stored, in the same order.
	Photos []string
}

// Missing lists what is to be fetched, from the stored overview and
// station records. Before the first overview it lists nothing.
func (s *Service) Missing(ctx context.Context) (*ToFetch, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	out := &ToFetch{}
	err = s.store.View(ctx, func(r Reader) error {
		overview, err := r.Overview()
		if errors.Is(err, ErrNotFound) {
			overview = nil
		} else if err != nil {
			return err
		}
		records, err := r.StationRecords()
		if err != nil {
			return err
		}
		recs := map[string]*StationRecord{}
		for i := range records {
			recs[records[i].Station.Code] = &records[i]
		}
		conflicts, err := r.Conflicts()
		if errors.Is(err, ErrNotFound) {
			conflicts = nil
		} else if err != nil {
			return err
		}
		inOverview := map[string]*OverviewStation{}
		if overview != nil {
			for i := range overview.Stations {
				inOverview[overview.Stations[i].Code] = &overview.Stations[i]
			}
		}
		seenEnv, seenPhoto := map[string]bool{}, map[string]bool{}
		wantEnvelope := func(digest string) error {
			if digest == "" || seenEnv[digest] {
				return nil
			}
			seenEnv[digest] = true
			switch _, err := r.Envelope(digest); {
			case errors.Is(err, ErrNotFound):
				out.Envelopes = append(out.Envelopes, digest)
			case err != nil:
				return err
			}
			return nil
		}
		for _, st := range sc.stations() {
			ms, rec := inOverview[st.Code], recs[st.Code]
			if ms != nil && stale(ms.Forms, rec, overview.FetchedAt) || conflictUnseen(conflicts, st.Code, rec) {
				out.Stations = append(out.Stations, st.Code)
			}
			if ms != nil {
				for _, f := range ms.Forms {
					if f.Version > 0 {
						if err := wantEnvelope(f.Digest); err != nil {
							return err
						}
					}
				}
			}
			if rec == nil {
				continue
			}
			for _, f := range rec.Forms {
				if f.Version > 0 {
					if err := wantEnvelope(f.Digest); err != nil {
						return err
					}
				}
			}
			for _, sub := range rec.Submissions {
				if err := wantEnvelope(sub.Digest); err != nil {
					return err
				}
				sha := sub.PhotoSHA256
				if sha == "" || seenPhoto[sha] || election.CheckPhotoHash(sha) != nil {
					continue
				}
				seenPhoto[sha] = true
				have, err := r.HasPhoto(sha)
				if err != nil {
					return err
				}
				if !have {
					out.Photos = append(out.Photos, sha)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stale reports whether a station's record is to be read again: never
// fetched while the overview shows a version, or fetched before an
// overview that shows the station's forms otherwise.
func stale(forms []FormStatus, rec *StationRecord, overviewAt time.Time) bool {
	if rec == nil {
		for _, f := range forms {
			if f.Version > 0 {
				return true
			}
		}
		return false
	}
	if !rec.FetchedAt.Before(overviewAt) {
		return false
	}
	return !sameForms(forms, rec.Forms)
}

// conflictUnseen reports whether the list of conflicts, fetched after the
// station's record, holds a conflict of the station that the record does
// not: the record tells which version the conflict contradicts.
func conflictUnseen(l *ConflictList, station string, rec *StationRecord) bool {
	if l == nil || rec != nil && !rec.FetchedAt.Before(l.FetchedAt) {
		return false
	}
	seen := map[uint64]bool{}
	if rec != nil {
		for _, c := range rec.Conflicts {
			seen[c.ID] = true
		}
	}
	for _, c := range l.Conflicts {
		if c.Station == station && !seen[c.ID] {
			return true
		}
	}
	return false
}

// sameForms compares two lists of a station's forms, in any order.
func sameForms(a, b []FormStatus) bool {
	type key struct {
		contest string
		form    election.FormKind
	}
	index := func(list []FormStatus) map[key]FormStatus {
		m := map[key]FormStatus{}
		for _, f := range list {
			if f.Version > 0 || f.State != ServerNotStarted {
				m[key{f.Contest, f.Form}] = f
			}
		}
		return m
	}
	ma, mb := index(a), index(b)
	if len(ma) != len(mb) {
		return false
	}
	for k, f := range ma {
		if g, ok := mb[k]; !ok || g != f {
			return false
		}
	}
	return true
}

// Refusal is the commission's refusal of a decision sent to it: the
// decision stays in the outbox (it leaves only with a delivery), and is
// not sent again; the supervisor may sign a new one.
type Refusal struct {
	Decision string    `json:"decision"` // its digest
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"` // when the refusal was recorded here
}

// RecordDecisionRefused notes, in the audit log, that the commission
// refused a decision, with its reason. The same refusal again changes
// nothing.
func (s *Service) RecordDecisionRefused(ctx context.Context, digest, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("a refusal is recorded with the commission's reason")
	}
	return s.store.Update(ctx, func(tx Tx) error {
		d, err := tx.Decision(digest)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("decision %s was not made here: %w", digest, ErrNotFound)
		} else if err != nil {
			return err
		}
		switch _, err := tx.Delivery(digest); {
		case err == nil:
			return fmt.Errorf("decision %s is already delivered; the commission cannot refuse it now", digest)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		refused, err := refusals(tx)
		if err != nil {
			return err
		}
		if r, ok := refused[digest]; ok && r.Reason == reason {
			return nil
		}
		at := s.clock()
		if err := tx.AppendRefusal(&Refusal{Decision: digest, Reason: reason, At: at}); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "decision.refused", Subject: d.Station + "/" + d.Contest + "/" + string(d.Form),
			Actor: "commission", Details: map[string]any{"decision": digest, "reason": reason}})
	})
}

// RefusedDecisions are the decisions the commission refused and that are
// still undelivered, by digest, with the latest reason.
func (s *Service) RefusedDecisions(ctx context.Context) (map[string]Refusal, error) {
	var out map[string]Refusal
	err := s.store.View(ctx, func(r Reader) error {
		refused, err := refusals(r)
		if err != nil {
			return err
		}
		out = map[string]Refusal{}
		for digest, ref := range refused {
			switch _, err := r.Delivery(digest); {
			case errors.Is(err, ErrNotFound):
				out[digest] = ref
			case err != nil:
				return err
			}
		}
		return nil
	})
	return out, err
}

// StandingRefusals are the refusals that still want a new decision: of a
// decision the commission does not have that is the latest made here on
// its form. By the decision's digest.
func (s *Service) StandingRefusals(ctx context.Context) (map[string]Refusal, error) {
	out := map[string]Refusal{}
	err := s.store.View(ctx, func(r Reader) error {
		refused, err := refusals(r)
		if err != nil || len(refused) == 0 {
			return err
		}
		decisions, err := r.Decisions()
		if err != nil {
			return err
		}
		outbox, err := r.Outbox()
		if err != nil {
			return err
		}
		waiting := map[string]bool{}
		for _, it := range outbox {
			waiting[it.Digest] = true
		}
		type form struct{ station, contest, kind string }
		latest := map[form]string{}
		for _, d := range decisions { // in the order made: the last one stands
			latest[form{d.Station, d.Contest, string(d.Form)}] = d.Digest
		}
		for _, digest := range latest {
			if ref, ok := refused[digest]; ok && waiting[digest] {
				out[digest] = ref
			}
		}
		return nil
	})
	return out, err
}

// refusals reads the commission's refusals, the latest of each decision
// standing.
func refusals(r Reader) (map[string]Refusal, error) {
	list, err := r.Refusals()
	if err != nil {
		return nil, err
	}
	out := make(map[string]Refusal, len(list))
	for _, ref := range list { // in the order recorded: the last one stands
		out[ref.Decision] = ref
	}
	return out, nil
}
