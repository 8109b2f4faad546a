package publish

import (
	"fmt"

	"tally/app/election"
	"tally/app/seal"
)

// StationKeys are the enrolled station keys: which keys may sign which
// station's forms. A verifier fills it from the commission's signed list
// of enrolled keys.
type StationKeys struct {
	rings map[string]*seal.Keyring
}

// NewStationKeys makes an empty set of station keys.
func NewStationKeys() *StationKeys { return &StationKeys{rings: map[string]*seal.Keyring{}} }

// Add lets key sign the station's forms. A station that replaced a lost
// laptop has more than one key.
func (k *StationKeys) Add(station string, key seal.PublicKey) error {
	r := k.rings[station]
	if r == nil {
		var err error
		if r, err = seal.NewKeyring(); err != nil {
			return err
		}
		k.rings[station] = r
	}
	return r.Add(key)
}

// Open verifies a sealed snapshot and everything in it, as any reader can:
//
//  1. the envelope is signed by the publication key, over the exact bytes
//     received, and holds a snapshot of this election;
//  2. every station envelope inside verifies under a key enrolled for that
//     station, its digest is the one given, it is a valid submission of
//     the election, and the entry's station, form, version, photo hash and
//     counts are what the envelope says; no form is there twice;
//  3. every station's figures in the results are those of its envelope,
//     or a station without one is not counted; every voting centre's and
//     municipality's figures are the sums of its stations', the nation's
//     the sum of the municipalities'; every share and turnout is computed
//     as Tally says; every station of the election that fills a form is
//     there, and nothing else.
//
// The first thing wrong is the error, and it names where.
func Open(raw []byte, publication seal.PublicKey, def *election.Definition, keys *StationKeys) (*Snapshot, error) {
	ring, err := seal.NewKeyring(publication)
	if err != nil {
		return nil, fmt.Errorf("publish: publication key: %w", err)
	}
	opened, err := seal.Open(raw, MaxSnapshotSize, PayloadType, ring)
	if err != nil {
		return nil, fmt.Errorf("publish: snapshot: %w", err)
	}
	s, err := decodeSnapshot(opened.Payload)
	if err != nil {
		return nil, err
	}
	if s.Election != def.Election.ID || s.Results.Election != def.Election.ID {
		return nil, fmt.Errorf("publish: snapshot %d is of election %q (results %q), not %q",
			s.Number, s.Election, s.Results.Election, def.Election.ID)
	}
	heads, err := checkEntries(def, s, keys)
	if err != nil {
		return nil, fmt.Errorf("publish: snapshot %d: %w", s.Number, err)
	}
	if err := checkResults(def, s.Results, heads); err != nil {
		return nil, fmt.Errorf("publish: snapshot %d: %w", s.Number, err)
	}
	return s, nil
}

// checkEntries verifies every station envelope of the snapshot and returns
// the counted forms they hold.
func checkEntries(def *election.Definition, s *Snapshot, keys *StationKeys) (map[formKey]*Accepted, error) {
	heads := make(map[formKey]*Accepted, len(s.Stations))
	for i := range s.Stations {
		e := &s.Stations[i]
		where := fmt.Sprintf("stations[%d] (station %s, contest %s, %s form)", i, e.Station, e.Contest, e.Form)
		k := formKey{e.Station, e.Contest, e.Form}
		if heads[k] != nil {
			return nil, fmt.Errorf("%s: the form is there twice", where)
		}
		if e.Review != Received && e.Review != Approved {
			return nil, fmt.Errorf("%s: review %q is neither %q nor %q", where, e.Review, Received, Approved)
		}
		var ring *seal.Keyring
		if keys != nil {
			ring = keys.rings[e.Station]
		}
		if ring == nil {
			return nil, fmt.Errorf("%s: no key is enrolled for the station", where)
		}
		opened, err := seal.Open(e.Envelope, maxSubmissionEnvelope, election.SubmissionPayloadType, ring)
		if err != nil {
			return nil, fmt.Errorf("%s: the station's envelope: %w", where, err)
		}
		if opened.Digest != e.Digest {
			return nil, fmt.Errorf("%s: the envelope's digest is %s, the entry says %s", where, opened.Digest, e.Digest)
		}
		a, err := acceptedFromPayload(def, e.Envelope, opened.Payload, e.ReceivedAt, e.Review)
		if err != nil {
			return nil, fmt.Errorf("%s: the station's envelope: %w", where, err)
		}
		if err := sameAsEnvelope(e, &a); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := checkAccepted(def, &a); err != nil {
			return nil, err
		}
		heads[k] = &a
	}
	return heads, nil
}

// sameAsEnvelope compares what an entry says with what its envelope says.
func sameAsEnvelope(e *StationEntry, a *Accepted) error {
	switch {
	case e.Station != a.Station || e.Contest != a.Contest || e.Form != a.Form:
		return fmt.Errorf("the envelope is of station %s, contest %s, %s form", a.Station, a.Contest, a.Form)
	case e.Version != a.Version:
		return fmt.Errorf("version is %d, the envelope says %d", e.Version, a.Version)
	case e.PhotoSHA256 != a.PhotoSHA256:
		return fmt.Errorf("photo hash is %q, the envelope says %q", e.PhotoSHA256, a.PhotoSHA256)
	}
	for _, f := range sortedFields(a.Counts) {
		if got, ok := e.Counts[f]; !ok || got != a.Counts[f] {
			return fmt.Errorf("%s is %s, the envelope says %d", f, countText(got, ok), a.Counts[f])
		}
	}
	for _, f := range sortedFields(e.Counts) {
		if _, ok := a.Counts[f]; !ok {
			return fmt.Errorf("%s is not a count of the envelope", f)
		}
	}
	return nil
}

func countText(n int, ok bool) string {
	if !ok {
		return "missing"
	}
	return fmt.Sprint(n)
}
