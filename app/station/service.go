package station

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

// Service carries out the station's use cases on a Store. It is safe for
// concurrent use; the Store serialises the writes.
type Service struct {
	store Store
	now   func() time.Time
	rand  io.Reader
	kdf   seal.KDFParams

	mu    sync.Mutex
	scope *scope // the verified definition and this station, once provisioned
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

// scope is what every use case needs from the provisioning: it never
// changes once the station is provisioned.
type scope struct {
	def     *election.Definition
	station *election.Station
	prov    Provisioning // as at provisioning; Sequence and Throttle go stale
}

// Scope loads the verified definition and the station once.
func (s *Service) Scope(ctx context.Context) (*election.Definition, *election.Station, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, nil, err
	}
	return sc.def, sc.station, nil
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
	// The stored definition is verified again as the commission signed it:
	// a definition edited on the disk is not trusted.
	def, err := election.OpenSigned(raw, election.Trust{DefinitionKeyID: prov.DefinitionKeyID, ElectionID: prov.Election})
	if err != nil {
		return nil, fmt.Errorf("the stored election definition no longer verifies: %w", err)
	}
	st, ok := def.Station(prov.Station)
	if !ok {
		return nil, fmt.Errorf("station %s is not in the stored election definition", prov.Station)
	}
	s.scope = &scope{def: def, station: st, prov: *prov}
	return s.scope, nil
}

// layout is the layout of a form this station fills.
func (sc *scope) layout(key FormKey) (*election.Layout, error) {
	if !sc.station.Fills(key.Contest, key.Form) {
		return nil, fmt.Errorf("station %s does not fill the %s form of contest %q", sc.station.Code, key.Form, key.Contest)
	}
	return sc.def.Layout(key.Contest, key.Form)
}

// Forms lists the forms this station fills, in the definition's order.
func (sc *scope) forms() []FormKey {
	out := make([]FormKey, 0, len(sc.station.Forms))
	for _, f := range sc.station.Forms {
		out = append(out, FormKey{Contest: f.Contest, Form: f.Form})
	}
	return out
}

// onSheet runs one change to one form: load the sheet inside a write
// transaction, let change work on it (it stores and audits what it
// changes), commit. A refused change leaves everything as it was.
func (s *Service) onSheet(ctx context.Context, key FormKey, change func(tx Tx, sc *scope, l *election.Layout, sh *Sheet) error) error {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return err
	}
	l, err := sc.layout(key)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		sh, err := tx.Sheet(key)
		if err != nil {
			return err
		}
		return change(tx, sc, l, sh)
	})
}

// putSheet stores the sheet's scalars and audits the change.
func (s *Service) putSheet(tx Tx, sh *Sheet, at time.Time, e audit.Event) error {
	sh.Updated = at
	if err := tx.PutSheet(sh); err != nil {
		return err
	}
	e.Subject = sh.Key.String()
	return tx.Audit(at, e)
}

// errUnchanged lets a change end early without writing anything.
var errUnchanged = errors.New("unchanged")

func ignoreUnchanged(err error) error {
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}
