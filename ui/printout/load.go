package printout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
)

// ErrNotSealed refuses to print a form that has no sealed version yet, or
// a version number that the form never had.
var ErrNotSealed = errors.New("not sealed")

// maxEnvelope bounds a stored envelope before it is verified: the payload's
// bound, in base64, with room for the signatures.
const maxEnvelope = election.MaxSubmissionSize*4/3 + 64<<10

// maxReceiptEnvelope bounds a stored receipt's envelope.
const maxReceiptEnvelope = election.MaxAnswerSize*2 + 4096

// Sheet is everything the printout of one sealed version of a form shows.
// Load fills it from the station's record; tests and screens may fill it
// themselves.
type Sheet struct {
	Definition *election.Definition
	Station    *election.Station
	Layout     *election.Layout
	// Version is the sealed version: its number, envelope digest, the
	// digest it supersedes, when it was sealed and its sequence number.
	Version station.Version
	// Submission is the version's payload as the station signed it: the
	// numbers, who entered them, remarks, the photo's hash and the
	// chair's confirmations.
	Submission *election.Submission
	// Findings are the validation rules that fire on the numbers.
	Findings []election.Finding
	// StationKey is the fingerprint of the station's key that signed the
	// version (seal.Fingerprint).
	StationKey string
	// Receipt is the commission's receipt of the version; nil while none
	// has arrived.
	Receipt *Receipt
	// Location is the time zone the times are printed in; nil is UTC.
	Location *time.Location
}

// Receipt is the commission's receipt of a version, verified.
type Receipt struct {
	Number     uint64
	ReceivedAt time.Time
	// Digest is the SHA-256 of the receipt's envelope.
	Digest string
	// SignedBy is the fingerprint of the commission's receipt key whose
	// signature verified.
	SignedBy string
}

// Load reads one sealed version of a form from the station's record and
// verifies what it prints: the version's envelope under the station's
// key, its payload against the definition, and the receipt under the
// commission's receipt key. Version 0 means the last sealed version. The
// service gives the verified definition and the station; the store, one
// consistent snapshot of the version and its receipt.
func Load(ctx context.Context, svc *station.Service, store station.Store, key station.FormKey, version int) (*Sheet, error) {
	def, st, err := svc.Scope(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Fills(key.Contest, key.Form) {
		return nil, fmt.Errorf("station %s does not fill the form %s", st.Code, key)
	}
	l, err := def.Layout(key.Contest, key.Form)
	if err != nil {
		return nil, err
	}
	var (
		prov     *station.Provisioning
		ver      *station.Version
		stored   *station.StoredReceipt
		versions int
	)
	err = store.View(ctx, func(r station.Reader) error {
		var err error
		if prov, err = r.Provisioning(); err != nil {
			return err
		}
		all, err := r.Versions(key)
		if err != nil {
			return err
		}
		versions = len(all)
		for i := range all {
			if version == 0 && i == len(all)-1 || all[i].Version == version {
				ver = &all[i]
			}
		}
		if ver == nil {
			return nil
		}
		switch rc, err := r.Receipt(ver.Digest); {
		case err == nil:
			stored = rc
		case !errors.Is(err, station.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case ver == nil && versions == 0:
		return nil, fmt.Errorf("%s is %w yet: there is no version to print", key, ErrNotSealed)
	case ver == nil && versions == 1:
		return nil, fmt.Errorf("%s version %d is %w: its only sealed version is 1", key, version, ErrNotSealed)
	case ver == nil:
		return nil, fmt.Errorf("%s version %d is %w: its sealed versions are 1 to %d", key, version, ErrNotSealed, versions)
	}

	pub, err := seal.ParsePublicKey(prov.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("the station's key: %w", err)
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return nil, err
	}
	opened, err := seal.Open(ver.Envelope, maxEnvelope, election.SubmissionPayloadType, ring)
	if err != nil {
		return nil, fmt.Errorf("%s version %d: %w", key, ver.Version, err)
	}
	if opened.Digest != ver.Digest {
		return nil, fmt.Errorf("%s version %d: the envelope's digest %s is not the stored %s", key, ver.Version, opened.Digest, ver.Digest)
	}
	sub, findings, err := election.ParseSubmission(opened.Payload, def)
	if err != nil {
		return nil, fmt.Errorf("%s version %d: %w", key, ver.Version, err)
	}
	if sub.Form.Station != st.Code || sub.Form.Contest != key.Contest || sub.Form.Kind != key.Form || sub.Version != ver.Version {
		return nil, fmt.Errorf("%s version %d: the signed payload is %s/%s version %d of station %s",
			key, ver.Version, sub.Form.Contest, sub.Form.Kind, sub.Version, sub.Form.Station)
	}
	sh := &Sheet{Definition: def, Station: st, Layout: l, Version: *ver, Submission: sub, Findings: findings,
		StationKey: seal.Fingerprint(pub.ID)}
	if stored != nil {
		if sh.Receipt, err = verifyReceipt(def, stored, ver); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// verifyReceipt checks a stored receipt again under the commission's
// receipt key, and that it names the version.
func verifyReceipt(def *election.Definition, stored *station.StoredReceipt, ver *station.Version) (*Receipt, error) {
	key, err := seal.ParsePublicKey(def.Election.Keys.Receipt)
	if err != nil {
		return nil, fmt.Errorf("the commission's receipt key: %w", err)
	}
	ring, err := seal.NewKeyring(key)
	if err != nil {
		return nil, err
	}
	opened, err := seal.Open(stored.Envelope, maxReceiptEnvelope, election.ReceiptPayloadType, ring)
	if err != nil {
		return nil, fmt.Errorf("the receipt of %s version %d: %w", ver.Key, ver.Version, err)
	}
	r, err := election.ParseReceipt(opened.Payload)
	if err != nil {
		return nil, fmt.Errorf("the receipt of %s version %d: %w", ver.Key, ver.Version, err)
	}
	if r.Submission != ver.Digest || r.Version != ver.Version {
		return nil, fmt.Errorf("the receipt of %s version %d names version %d, %s", ver.Key, ver.Version, r.Version, r.Submission)
	}
	return &Receipt{Number: r.Number, ReceivedAt: r.ReceivedAt, Digest: opened.Digest,
		SignedBy: seal.Fingerprint(opened.SignedBy[0])}, nil
}
