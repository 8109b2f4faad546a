package commission

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"

	"tally/app/enrollment"
)

// maxAuthEnvelope bounds an answer to a challenge.
const maxAuthEnvelope = 4 << 10

// Authenticate verifies an answer to a challenge: signed by an enrolled
// key in force, for this election, answering a challenge that
// validChallenge accepts (the HTTP layer makes and checks challenges). It
// returns the key, whose role and unit say what the caller may see.
func (s *Service) Authenticate(ctx context.Context, raw []byte, validChallenge func(string) error) (*Key, error) {
	def, err := s.Definition(ctx)
	if err != nil {
		return nil, err
	}
	key, opened, err := s.openSigned(ctx, raw, maxAuthEnvelope, enrollment.AuthPayloadType, "answer", EUnauthorized, true)
	if err != nil {
		return nil, err
	}
	var a enrollment.Auth
	dec := json.NewDecoder(bytes.NewReader(opened.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, Errorf(EUnauthorized, "answer: %v", err)
	}
	if a.Format != enrollment.AuthFormat || a.Election != def.Election.ID {
		return nil, Errorf(EUnauthorized, "the answer is not for election %s", def.Election.ID)
	}
	if err := validChallenge(a.Challenge); err != nil {
		return nil, Errorf(EUnauthorized, "challenge: %v", err)
	}
	return key, nil
}

// freshKey reads a key from the store, not the cache, and refuses a
// revoked one.
func (s *Service) freshKey(ctx context.Context, id string) (*Key, error) {
	var k *Key
	err := s.store.View(ctx, func(r Reader) error {
		var err error
		k, err = r.Key(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(EUnauthorized, "key %q is not enrolled", id)
	} else if err != nil {
		return nil, err
	}
	if k.Revoked() {
		return nil, Errorf(EForbidden, "key %s was revoked", id)
	}
	s.cacheKey(k)
	return k, nil
}

// KeyInForce is an enrolled key that is not revoked, read from the store:
// for checking a token's key on each request.
func (s *Service) KeyInForce(ctx context.Context, id string) (*Key, error) {
	return s.freshKey(ctx, id)
}

// Secret is a 32-byte secret shared by every tallyd node on the store,
// made the first time it is asked for (for signing tokens and challenges).
func (s *Service) Secret(ctx context.Context, name string) ([]byte, error) {
	var secret []byte
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		secret, err = tx.Secret(name, func() ([]byte, error) {
			b := make([]byte, 32)
			_, err := io.ReadFull(rand.Reader, b)
			return b, err
		})
		return err
	})
	return secret, err
}
