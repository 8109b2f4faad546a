package review

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// Options tune a Service; the zero value is right outside tests.
type Options struct {
	Now    func() time.Time // the wall clock
	Random io.Reader        // for keys and vault salts
	KDF    seal.KDFParams   // the PIN's key derivation; zero: seal.DefaultKDF
}

// Service carries out the supervisor's use cases on a Store. It is safe
// for concurrent use; the Store serialises the writes.
type Service struct {
	store Store
	now   func() time.Time
	rand  io.Reader
	kdf   seal.KDFParams

	mu    sync.Mutex
	scope *scope // the verified definition and the municipality, once provisioned
}

// New makes a Service on a store.
func New(store Store, o Options) *Service {
	s := &Service{store: store, now: o.Now, rand: o.Random, kdf: o.KDF}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.kdf == (seal.KDFParams{}) {
		s.kdf = seal.DefaultKDF
	}
	return s
}

// clock is the time of a change, to the microsecond that every store keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// scope is what every use case needs from the provisioning; it never
// changes once the laptop is provisioned.
type scope struct {
	def          *election.Definition
	municipality *election.Municipality
	prov         Provisioning // as at provisioning; the throttle goes stale
	receipt      *seal.Keyring
}

// Scope is the verified definition and the supervisor's municipality.
func (s *Service) Scope(ctx context.Context) (*election.Definition, *election.Municipality, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, nil, err
	}
	return sc.def, sc.municipality, nil
}

func (s *Service) loadScope(ctx context.Context) (*scope, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scope != nil {
		return s.scope, nil
	}
	var raw []byte
	var prov *Provisioning
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		if prov, err = r.Provisioning(); err != nil {
			return err
		}
		raw, err = r.Definition()
		return err
	})
	if err != nil {
		return nil, err
	}
	// The stored definition is verified again as the commission signed
	// it: a definition edited on the disk is not trusted.
	def, err := election.OpenSigned(raw, election.Trust{DefinitionKeyID: prov.DefinitionKeyID, ElectionID: prov.Election})
	if err != nil {
		return nil, fmt.Errorf("the stored election definition no longer verifies: %w", err)
	}
	m, ok := def.Municipality(prov.Municipality)
	if !ok {
		return nil, fmt.Errorf("municipality %s is not in the stored election definition", prov.Municipality)
	}
	receipt, err := receiptRing(def)
	if err != nil {
		return nil, err
	}
	s.scope = &scope{def: def, municipality: m, prov: *prov, receipt: receipt}
	return s.scope, nil
}

// receiptRing holds the commission's receipt key, which signs receipts
// and the key list.
func receiptRing(def *election.Definition) (*seal.Keyring, error) {
	key, err := seal.ParsePublicKey(def.Election.Keys.Receipt)
	if err != nil {
		return nil, fmt.Errorf("the definition's receipt key: %w", err)
	}
	return seal.NewKeyring(key)
}

// station is a station of the supervisor's municipality.
func (sc *scope) station(code string) (*election.Station, error) {
	st, ok := sc.def.Station(code)
	if !ok {
		return nil, fmt.Errorf("%w: station %q is not in election %s", ErrOutsideMunicipality, code, sc.def.Election.ID)
	}
	if st.Municipality != sc.municipality.Code {
		return nil, fmt.Errorf("%w: station %s is in municipality %s, not %s", ErrOutsideMunicipality,
			st.Code, st.Municipality, sc.municipality.Code)
	}
	return st, nil
}

// stations lists the municipality's stations in the definition's order.
func (sc *scope) stations() []*election.Station {
	var out []*election.Station
	for i := range sc.def.Stations {
		if st := &sc.def.Stations[i]; st.Municipality == sc.municipality.Code {
			out = append(out, st)
		}
	}
	return out
}

// VerifyAudit checks the whole audit chain, and returns how many records
// it holds and the last one.
func (s *Service) VerifyAudit(ctx context.Context) (uint64, *audit.Record, error) {
	var v audit.Verifier
	err := s.store.View(ctx, func(r Reader) error { return r.AuditRecords(v.Add) })
	return v.Count(), v.Head(), err
}

// errUnchanged lets a change end early without writing anything.
var errUnchanged = errors.New("unchanged")

func ignoreUnchanged(err error) error {
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}
