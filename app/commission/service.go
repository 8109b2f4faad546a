package commission

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// Options configure a Service.
type Options struct {
	Now    func() time.Time // the wall clock; time.Now when nil
	Random io.Reader        // for enrollment codes; crypto/rand when nil
	// ReceiptKey signs receipts and the key list: the private half of
	// the definition's receipt key.
	ReceiptKey *seal.PrivateKey
	// MaxBatch bounds how many submissions share one commit; 0 means 256.
	MaxBatch int
}

// Service carries out the commission's use cases on a Store.
type Service struct {
	store      Store
	now        func() time.Time
	rand       io.Reader
	receiptKey *seal.PrivateKey
	maxBatch   int

	mu   sync.RWMutex
	def  *election.Definition
	keys map[string]*Key // cache of enrolled keys; revocation is checked again in each commit

	listeners []func([]Stored) // under mu

	ingest   chan *pending
	checking chan struct{} // a slot for each submission being checked
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New makes a Service and starts its committer. Close stops it after the
// submissions already accepted are committed.
func New(store Store, o Options) *Service {
	s := &Service{store: store, now: o.Now, rand: o.Random, receiptKey: o.ReceiptKey, maxBatch: o.MaxBatch,
		keys: map[string]*Key{}, ingest: make(chan *pending, 4096),
		checking: make(chan struct{}, 2*runtime.GOMAXPROCS(0)), stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	go s.commitLoop()
	return s
}

// Close stops taking submissions, commits those already taken, and
// returns once the last commit has answered.
func (s *Service) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Definition is the imported election, verified.
func (s *Service) Definition(ctx context.Context) (*election.Definition, error) {
	s.mu.RLock()
	def := s.def
	s.mu.RUnlock()
	if def != nil {
		return def, nil
	}
	var signed []byte
	var keyID string
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		signed, keyID, err = r.Election()
		return err
	})
	if err != nil {
		return nil, err
	}
	def, err = election.OpenSigned(signed, election.Trust{DefinitionKeyID: keyID})
	if err != nil {
		return nil, Errorf(EInternal, "the stored election definition no longer verifies: %v", err)
	}
	s.mu.Lock()
	s.def = def
	s.mu.Unlock()
	return def, nil
}

// Ready reports whether the service can take submissions: an election is
// imported and the receipt key is the election's.
func (s *Service) Ready(ctx context.Context) error {
	def, err := s.Definition(ctx)
	if err != nil {
		return err
	}
	return s.checkReceiptKey(def)
}

func (s *Service) checkReceiptKey(def *election.Definition) error {
	if s.receiptKey == nil {
		return Errorf(EUnavailable, "no receipt key: tallyd cannot answer with receipts")
	}
	if seal.EncodePublicKey(s.receiptKey.Public()) != def.Election.Keys.Receipt {
		return Errorf(EInternal, "the receipt key %s is not the election's receipt key", seal.Fingerprint(s.receiptKey.ID()))
	}
	return nil
}

// SignedElection is the signed definition, exactly as imported.
func (s *Service) SignedElection(ctx context.Context) ([]byte, error) {
	var signed []byte
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		signed, _, err = r.Election()
		return err
	})
	return signed, err
}

// ImportElection verifies a signed definition against the fingerprint of
// the commission's definition key, as printed, and stores it. A server
// holds one election.
func (s *Service) ImportElection(ctx context.Context, signed []byte, fingerprint, by string) (*election.Definition, error) {
	def, err := election.OpenSigned(signed, election.Trust{})
	if err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	key, err := seal.ParsePublicKey(def.Election.Keys.Definition)
	if err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	if !seal.MatchesFingerprint(fingerprint, key.ID) {
		return nil, Errorf(EInvalid, "the definition is signed by key %s, not by the key with the fingerprint %q",
			seal.Fingerprint(key.ID), fingerprint)
	}
	at := s.clock()
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.PutElection(signed, key.ID, at); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "election.import", Subject: def.Election.ID, Actor: by,
			Details: map[string]any{"definition_key": key.ID, "digest": seal.Digest(signed)}})
	})
	if err != nil {
		return nil, err
	}
	return def, nil
}

// IssuedCode is a fresh code, in the clear, for printing; the store keeps
// only its hash.
type IssuedCode struct {
	Role         enrollment.Role `json:"role"`
	Unit         string          `json:"unit"`
	Municipality string          `json:"municipality"`
	Name         string          `json:"name"`
	Code         string          `json:"code"`
}

// IssueCodes makes a new code for each station (role station) or each
// municipality's supervisor (role supervisor) named, or for all of them
// when units is empty. A new code retires the unit's unused ones: a lost
// laptop's replacement enrolls with a new code.
func (s *Service) IssueCodes(ctx context.Context, role enrollment.Role, units []string, by string) ([]IssuedCode, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	var out []IssuedCode
	add := func(unit, municipality, name string) error {
		code, err := enrollment.NewCode(s.rand)
		if err != nil {
			return err
		}
		out = append(out, IssuedCode{Role: role, Unit: unit, Municipality: municipality, Name: name, Code: code})
		return nil
	}
	switch role {
	case enrollment.RoleStation:
		if len(units) == 0 {
			for _, st := range def.Stations {
				units = append(units, st.Code)
			}
		}
		for _, u := range units {
			st, ok := def.Station(u)
			if !ok {
				return nil, Errorf(EInvalid, "station %q is not in election %s", u, def.Election.ID)
			}
			if err := add(st.Code, st.Municipality, st.Name); err != nil {
				return nil, err
			}
		}
	case enrollment.RoleSupervisor:
		if len(units) == 0 {
			for _, m := range def.Municipalities {
				units = append(units, m.Code)
			}
		}
		for _, u := range units {
			m, ok := def.Municipality(u)
			if !ok {
				return nil, Errorf(EInvalid, "municipality %q is not in election %s", u, def.Election.ID)
			}
			if err := add(m.Code, m.Code, m.Name["sq"]); err != nil {
				return nil, err
			}
		}
	default:
		return nil, Errorf(EInvalid, "role %q is neither %q nor %q", role, enrollment.RoleStation, enrollment.RoleSupervisor)
	}
	at := s.clock()
	err = s.store.Update(ctx, func(tx Tx) error {
		for _, c := range out {
			hash := enrollment.Hash(def.Election.ID, c.Role, c.Unit, c.Code)
			if err := tx.PutCode(&Code{Hash: hash, Role: c.Role, Unit: c.Unit, IssuedAt: at}); err != nil {
				return err
			}
		}
		return tx.Audit(at, audit.Event{Action: "codes.issue", Subject: string(role), Actor: by,
			Details: map[string]any{"count": len(out), "units": units}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AcceptCodes stores the hashes of codes printed elsewhere (as the demo
// election's generator does), checking that each names a station or a
// municipality of the election.
func (s *Service) AcceptCodes(ctx context.Context, codes []IssuedCode, by string) error {
	def, err := s.Definition(ctx)
	if err != nil {
		return err
	}
	for _, c := range codes {
		ok := false
		switch c.Role {
		case enrollment.RoleStation:
			_, ok = def.Station(c.Unit)
		case enrollment.RoleSupervisor:
			_, ok = def.Municipality(c.Unit)
		}
		if !ok {
			return Errorf(EInvalid, "code for %s %q: no such %s in election %s", c.Role, c.Unit, c.Role, def.Election.ID)
		}
		if _, err := enrollment.Normalize(c.Code); err != nil {
			return Errorf(EInvalid, "code for %s %s: %v", c.Role, c.Unit, err)
		}
	}
	at := s.clock()
	return s.store.Update(ctx, func(tx Tx) error {
		for _, c := range codes {
			code, _ := enrollment.Normalize(c.Code)
			hash := enrollment.Hash(def.Election.ID, c.Role, c.Unit, code)
			if err := tx.PutCode(&Code{Hash: hash, Role: c.Role, Unit: c.Unit, IssuedAt: at}); err != nil {
				return err
			}
		}
		return tx.Audit(at, audit.Event{Action: "codes.accept", Actor: by, Details: map[string]any{"count": len(codes)}})
	})
}

// Enroll binds the key that signed an enrollment request to its station or
// municipality, and burns the code. The same request again, once enrolled,
// is answered with the same key.
func (s *Service) Enroll(ctx context.Context, raw []byte) (*Key, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	req, pub, err := enrollment.OpenRequest(raw)
	if err != nil {
		return nil, Errorf(EInvalid, "%v", err)
	}
	if req.Election != def.Election.ID {
		return nil, Errorf(EInvalid, "the request is for election %q; this server holds %q", req.Election, def.Election.ID)
	}
	switch req.Role {
	case enrollment.RoleStation:
		if _, ok := def.Station(req.Unit); !ok {
			return nil, Errorf(ENotFound, "station %q is not in election %s", req.Unit, def.Election.ID)
		}
	case enrollment.RoleSupervisor:
		if _, ok := def.Municipality(req.Unit); !ok {
			return nil, Errorf(ENotFound, "municipality %q is not in election %s", req.Unit, def.Election.ID)
		}
	}
	hash := enrollment.Hash(def.Election.ID, req.Role, req.Unit, req.Code)
	at := s.clock()
	key := &Key{ID: pub.ID, Public: seal.EncodePublicKey(pub), Role: req.Role, Unit: req.Unit, EnrolledAt: at}
	err = s.store.Update(ctx, func(tx Tx) error {
		code, err := tx.Code(hash)
		if errors.Is(err, ErrNotFound) {
			return Errorf(EForbidden, "the enrollment code is not one issued for %s %s", req.Role, req.Unit)
		} else if err != nil {
			return err
		}
		if code.UsedAt != nil {
			if code.UsedBy == pub.ID { // a repeat of a request that succeeded
				if key, err = tx.Key(pub.ID); err != nil {
					return err
				}
				return errRepeat
			}
			return Errorf(EForbidden, "the enrollment code was used on %s; ask the commission for a new one",
				code.UsedAt.Format(time.RFC3339))
		}
		if code.RetiredAt != nil {
			return Errorf(EForbidden, "the enrollment code was replaced by a newer one on %s", code.RetiredAt.Format(time.RFC3339))
		}
		if _, err := tx.Key(pub.ID); err == nil {
			return Errorf(EConflict, "key %s is already enrolled", pub.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.UseCode(hash, pub.ID, at); err != nil {
			return err
		}
		if err := tx.PutKey(key); err != nil {
			return err
		}
		return tx.Audit(at, audit.Event{Action: "key.enroll", Subject: req.Unit, Actor: pub.ID,
			Details: map[string]any{"role": req.Role, "key": pub.ID}})
	})
	if err != nil && !errors.Is(err, errRepeat) {
		return nil, err
	}
	s.cacheKey(key)
	return key, nil
}

// errRepeat ends a transaction that has nothing to change.
var errRepeat = errors.New("repeat")

// Revoke revokes a key: a lost laptop's. Submissions it signs from now on
// are refused; what it submitted before stays.
func (s *Service) Revoke(ctx context.Context, keyID, reason, by string) (*Key, error) {
	if reason == "" {
		return nil, Errorf(EInvalid, "a revocation needs a reason")
	}
	at := s.clock()
	var key *Key
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		if key, err = tx.Key(keyID); err != nil {
			return err
		}
		if key.Revoked() {
			return errRepeat
		}
		if err := tx.RevokeKey(keyID, at, reason); err != nil {
			return err
		}
		key.RevokedAt, key.RevokedReason = &at, reason
		return tx.Audit(at, audit.Event{Action: "key.revoke", Subject: key.Unit, Actor: by,
			Details: map[string]any{"key": keyID, "role": key.Role, "reason": reason}})
	})
	if err != nil && !errors.Is(err, errRepeat) {
		return nil, err
	}
	s.cacheKey(key)
	return key, nil
}

// key finds an enrolled key, from the cache or the store.
func (s *Service) key(ctx context.Context, id string) (*Key, error) {
	s.mu.RLock()
	k := s.keys[id]
	s.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		k, err = r.Key(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cacheKey(k)
	return k, nil
}

func (s *Service) cacheKey(k *Key) {
	if k == nil {
		return
	}
	s.mu.Lock()
	s.keys[k.ID] = k
	s.mu.Unlock()
}

// SignedKeyList is the list of every enrolled key, signed with the receipt
// key.
func (s *Service) SignedKeyList(ctx context.Context) ([]byte, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	var keys []Key
	if err := s.store.View(ctx, func(r Reader) error {
		var err error
		keys, err = r.Keys()
		return err
	}); err != nil {
		return nil, err
	}
	l := enrollment.KeyList{Format: enrollment.KeyListFormat, Election: def.Election.ID, GeneratedAt: s.clock(),
		Keys: make([]enrollment.ListedKey, 0, len(keys))}
	for _, k := range keys {
		l.Keys = append(l.Keys, enrollment.ListedKey{ID: k.ID, PublicKey: k.Public, Role: k.Role, Unit: k.Unit,
			EnrolledAt: k.EnrolledAt, RevokedAt: k.RevokedAt})
	}
	return signJSON(enrollment.KeyListPayloadType, l, s.receiptKey)
}

// VerifyAudit checks the whole audit chain.
func (s *Service) VerifyAudit(ctx context.Context) (uint64, *audit.Record, error) {
	var v audit.Verifier
	err := s.store.View(ctx, func(r Reader) error { return r.AuditRecords(v.Add) })
	return v.Count(), v.Head(), err
}
