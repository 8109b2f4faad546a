package commission

import (
	"context"
	"errors"

	"tally/app/seal"
)

// openSigned opens an envelope that must carry exactly one signature, by
// an enrolled key, over the exact bytes received: the key is read from
// the envelope first, then its signature verified. A malformed or badly
// signed envelope is an error of kind bad; an unknown key is
// EUnauthorized. fresh reads the key from the store, not the cache (for
// what must see a revocation at once).
func (s *Service) openSigned(ctx context.Context, raw []byte, maxSize int, payloadType, what string,
	bad Kind, fresh bool) (*Key, *seal.Opened, error) {
	return s.openParsed(ctx, raw, nil, maxSize, payloadType, what, bad, fresh)
}

// openParsed is openSigned for an envelope that may be parsed already
// (env, from raw exactly); nil parses raw.
func (s *Service) openParsed(ctx context.Context, raw []byte, env *seal.Envelope, maxSize int, payloadType, what string,
	bad Kind, fresh bool) (*Key, *seal.Opened, error) {
	if env == nil || len(raw) > maxSize {
		var err error
		if env, err = seal.Parse(raw, maxSize); err != nil {
			return nil, nil, Errorf(bad, "%v", err)
		}
	}
	if len(env.Signatures) != 1 {
		return nil, nil, Errorf(bad, "a %s carries exactly one signature; this has %d", what, len(env.Signatures))
	}
	id := env.Signatures[0].KeyID
	var (
		key *Key
		err error
	)
	if fresh {
		key, err = s.freshKey(ctx, id)
	} else {
		key, err = s.key(ctx, id)
		if errors.Is(err, ErrNotFound) {
			err = Errorf(EUnauthorized, "key %q is not enrolled", id)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	pub, err := seal.ParsePublicKey(key.Public)
	if err != nil {
		return nil, nil, err
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return nil, nil, err
	}
	opened, err := env.Open(raw, payloadType, ring)
	if err != nil {
		return nil, nil, Errorf(bad, "%v", err)
	}
	return key, opened, nil
}
