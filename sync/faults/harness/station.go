package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"tally/app/election"
	"tally/app/seal"
	"tally/app/station"
	"tally/storage/stationdb"
	"tally/sync/client"
)

// PIN is every test station's chair's PIN.
const PIN = "4719-2853"

// KDF makes the PIN's key derivation cheap: the tests unlock thousands of
// stations.
var KDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// File is a station's SQLite file (storage/stationdb) that is opened when
// it is used and closed by Close, so that thousands of stations can keep
// their services (and the definition each has verified) without holding
// thousands of open files. It must not be closed while in use.
type File struct {
	path string
	mu   sync.Mutex
	db   *stationdb.DB
}

var _ station.Store = (*File)(nil)

// NewFile is the file at path (made when first used).
func NewFile(path string) *File { return &File{path: path} }

func (f *File) open(ctx context.Context) (*stationdb.DB, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		db, err := stationdb.Open(ctx, f.path)
		if err != nil {
			return nil, err
		}
		f.db = db
	}
	return f.db, nil
}

// Update is stationdb's Update.
func (f *File) Update(ctx context.Context, fn func(station.Tx) error) error {
	db, err := f.open(ctx)
	if err != nil {
		return err
	}
	return db.Update(ctx, fn)
}

// View is stationdb's View.
func (f *File) View(ctx context.Context, fn func(station.Reader) error) error {
	db, err := f.open(ctx)
	if err != nil {
		return err
	}
	return db.View(ctx, fn)
}

// Close closes the file until it is used again.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	return err
}

// Station is a real station: station.Service on its own stationdb file,
// provisioned with an election's definition, its key unlocked.
type Station struct {
	Code string
	Svc  *station.Service
	File *File
	Key  *seal.PrivateKey
	Def  *election.Definition // as the station verified it
	Me   *election.Station
}

// NewStation provisions station code at path with the election's signed
// definition and unlocks its key.
func NewStation(ctx context.Context, path string, e *Election, code string) (*Station, error) {
	f := NewFile(path)
	svc := station.New(f, station.Options{KDF: KDF})
	if _, err := svc.Provision(ctx, station.ProvisionRequest{Definition: e.Signed, Fingerprint: e.Fingerprint(),
		Station: code, PIN: []byte(PIN), By: "Arta Krasniqi"}); err != nil {
		return nil, fmt.Errorf("provisioning %s: %w", code, err)
	}
	key, err := svc.Unlock(ctx, []byte(PIN))
	if err != nil {
		return nil, err
	}
	def, me, err := svc.Scope(ctx)
	if err != nil {
		return nil, err
	}
	return &Station{Code: code, Svc: svc, File: f, Key: key, Def: def, Me: me}, nil
}

// Enroll binds the station's key at the commission with its one-time
// code, through cl.
func (s *Station) Enroll(ctx context.Context, cl *client.Client, code string) error {
	req, err := s.Svc.EnrollmentRequest(ctx, s.Key, code)
	if err != nil {
		return err
	}
	if _, err := cl.Enroll(ctx, req); err != nil {
		return fmt.Errorf("enrolling %s: %w", s.Code, err)
	}
	return s.Svc.RecordEnrollment(ctx, s.Def.Election.Servers[0].URL)
}

// Forms are the station's forms.
func (s *Station) Forms() []station.FormKey {
	out := make([]station.FormKey, 0, len(s.Me.Forms))
	for _, f := range s.Me.Forms {
		out = append(out, station.FormKey{Contest: f.Contest, Form: f.Form})
	}
	return out
}

// Seal enters the demo generator's numbers for round into both entries
// of a form (correcting it first if it is sealed), attaches a photo of
// the paper form, and seals it: the next version goes into the outbox.
func (s *Station) Seal(ctx context.Context, key station.FormKey, round int) (*station.Version, error) {
	l, err := s.Def.Layout(key.Contest, key.Form)
	if err != nil {
		return nil, err
	}
	f := election.DemoForm(s.Def, l, s.Me, uint64(round))
	typed := station.Typed{Values: map[election.Field]string{election.FieldMembers: strconv.Itoa(f.Members)}}
	for k, v := range f.Counts {
		typed.Values[k] = strconv.Itoa(v)
	}
	v, err := s.Svc.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	if v.State == station.StateSealed || v.State == station.StateReturned {
		if err := s.Svc.Correct(ctx, key, "Arta Krasniqi"); err != nil {
			return nil, err
		}
	}
	first := typed
	first.Photo = append([]byte{0xFF, 0xD8, 0xFF}, []byte(s.Code+"/"+key.String()+"/"+strconv.Itoa(round))...)
	if err := s.Svc.Enter(ctx, key, station.First, "Arta Krasniqi", first); err != nil {
		return nil, err
	}
	if err := s.Svc.Enter(ctx, key, station.Second, "Besnik Gashi", typed); err != nil {
		return nil, err
	}
	return s.Svc.Seal(ctx, key, s.Key)
}

// Record is what the station holds of its deliveries.
type Record struct {
	Versions []station.Version
	Outbox   map[string]bool                  // by digest
	Receipts map[string]station.StoredReceipt // by the receipted submission's digest
	Photos   map[string]bool                  // the photos the sealed versions name
}

// Record reads the station's sealed versions, outbox and receipts.
func (s *Station) Record(ctx context.Context) (*Record, error) {
	r := &Record{Outbox: map[string]bool{}, Receipts: map[string]station.StoredReceipt{}, Photos: map[string]bool{}}
	err := s.File.View(ctx, func(rd station.Reader) error {
		if err := rd.AllVersions(func(v station.Version) error {
			r.Versions = append(r.Versions, v)
			return nil
		}); err != nil {
			return err
		}
		out, err := rd.Outbox()
		if err != nil {
			return err
		}
		for _, it := range out {
			r.Outbox[it.Digest] = true
		}
		rcs, err := rd.Receipts()
		if err != nil {
			return err
		}
		for _, rc := range rcs {
			r.Receipts[rc.Submission] = rc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, v := range r.Versions {
		env, err := seal.Parse(v.Envelope, election.MaxSubmissionSize*2)
		if err != nil {
			return nil, err
		}
		var sub election.Submission
		if err := json.Unmarshal(env.Payload, &sub); err != nil {
			return nil, err
		}
		if sub.Form.PhotoSHA256 != "" {
			r.Photos[sub.Form.PhotoSHA256] = true
		}
	}
	return r, nil
}

// Against holds the station's record against what the commission stored
// and returns every discrepancy: a version out of the outbox without a
// receipt that verifies under the definition's receipt key and names it,
// a receipt the commission's store does not back (number and all), a
// version stored that the station never sealed, and, when delivered is
// true, any version still in the outbox or stored at the commission
// without the station knowing.
func (r *Record) Against(c *Commission, s *Station, delivered bool) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, s.Code+": "+fmt.Sprintf(format, args...))
	}
	pub, err := seal.ParsePublicKey(s.Def.Election.Keys.Receipt)
	if err != nil {
		return []string{err.Error()}
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return []string{err.Error()}
	}
	sealed := map[string]bool{}
	for _, v := range r.Versions {
		sealed[v.Digest] = true
		name := fmt.Sprintf("%s v%d (%.12s)", v.Key, v.Version, v.Digest)
		rc, receipted := r.Receipts[v.Digest]
		stored, atCommission := c.ByDigest[v.Digest]
		switch {
		case r.Outbox[v.Digest] && receipted:
			bad("%s is in the outbox and has a receipt", name)
		case !r.Outbox[v.Digest] && !receipted:
			bad("%s left the outbox without a receipt", name)
		case r.Outbox[v.Digest] && delivered:
			bad("%s is still in the outbox (stored at the commission: %v)", name, atCommission)
		}
		if !receipted {
			continue
		}
		opened, err := seal.Open(rc.Envelope, 1<<16, election.ReceiptPayloadType, ring)
		if err != nil {
			bad("%s: the stored receipt does not verify: %v", name, err)
			continue
		}
		got, err := election.ParseReceipt(opened.Payload)
		if err != nil {
			bad("%s: the stored receipt cannot be read: %v", name, err)
			continue
		}
		if got.Submission != v.Digest || got.Station != s.Code || got.Election != s.Def.Election.ID ||
			got.Contest != v.Key.Contest || got.Form != v.Key.Form || got.Version != v.Version {
			bad("%s: the receipt names %s %s/%s v%d (%.12s)", name, got.Station, got.Contest, got.Form, got.Version, got.Submission)
		}
		switch {
		case !atCommission:
			bad("%s has a receipt (number %d) but the commission does not store it", name, got.Number)
		case stored.Number != got.Number:
			bad("%s: receipt number %d, the commission stored it as %d", name, got.Number, stored.Number)
		}
	}
	for _, st := range c.OfStation(s.Code) {
		if !sealed[st.Digest] {
			bad("the commission stores %s/%s v%d (%.12s), which this station never sealed", st.Contest, st.Form, st.Version, st.Digest)
		}
	}
	if delivered {
		for sha := range r.Photos {
			if !c.Attachments[sha] {
				bad("the photo %.12s is not at the commission", sha)
			}
		}
	}
	return problems
}
