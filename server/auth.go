package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"tally/app/commission"
	"tally/app/enrollment"
)

// Authentication: a caller asks for a challenge, signs it with its
// enrolled key (enrollment.SignAuth) and exchanges the answer for a token.
// Both the challenge and the token are stateless, HMAC-SHA256 under
// secrets every node reads from the store, so any node checks what any
// other node issued.
//
//	challenge = "c1." b64(expiry as 8 bytes, big-endian Unix seconds ‖ 16 random bytes) "." b64(HMAC)
//	token     = "t1." b64(JSON claims) "." b64(HMAC)
//
// with b64 the unpadded URL-safe base64 and each HMAC over the version
// prefix and the middle part.

// The names of the secrets in the store.
const (
	challengeSecret = "challenge"
	tokenSecret     = "token"
)

const (
	challengePrefix = "c1."
	tokenPrefix     = "t1."
	maxTokenLength  = 1024
)

var b64 = base64.RawURLEncoding

// identity is who a token says is asking.
type identity struct {
	KeyID string          `json:"kid"`
	Role  enrollment.Role `json:"role"`
	Unit  string          `json:"unit"`
	// Expires is in Unix seconds.
	Expires int64 `json:"exp"`
}

// secrets caches the store's secrets: they never change once made, and
// reading one is a write transaction.
type secrets struct {
	svc *commission.Service
	mu  sync.Mutex
	m   map[string][]byte
}

func (s *secrets) get(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	b := s.m[name]
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	b, err := s.svc.Secret(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(b) < 16 {
		return nil, commission.Errorf(commission.EInternal, "the secret %q is too short", name)
	}
	s.mu.Lock()
	s.m[name] = b
	s.mu.Unlock()
	return b, nil
}

func mac(secret []byte, prefix, part string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(prefix))
	h.Write([]byte(part))
	return h.Sum(nil)
}

// sealed makes prefix + part + "." + b64(HMAC).
func sealed(secret []byte, prefix, part string) string {
	return prefix + part + "." + b64.EncodeToString(mac(secret, prefix, part))
}

// unseal checks the HMAC of a sealed string and returns its middle part.
func unseal(secret []byte, prefix, s string) (string, error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", errors.New("not one of ours")
	}
	part, sum, ok := strings.Cut(rest, ".")
	if !ok {
		return "", errors.New("malformed")
	}
	got, err := b64.DecodeString(sum)
	if err != nil || !hmac.Equal(got, mac(secret, prefix, part)) {
		return "", errors.New("not issued by this commission")
	}
	return part, nil
}

// newChallenge makes a challenge that expires after the configured time.
func (s *Server) newChallenge(ctx context.Context) (string, time.Time, error) {
	secret, err := s.secrets.get(ctx, challengeSecret)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.now().Add(s.cfg.ChallengeTTL).Truncate(time.Second)
	var raw [24]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(expires.Unix()))
	if _, err := rand.Read(raw[8:]); err != nil {
		return "", time.Time{}, err
	}
	return sealed(secret, challengePrefix, b64.EncodeToString(raw[:])), expires, nil
}

// checkChallenge accepts a challenge this commission issued that has not
// expired. A challenge is not burnt when used: an answer, which only its
// key can make and which travels over TLS, may be exchanged again until
// the challenge expires.
func (s *Server) checkChallenge(secret []byte, c string) error {
	part, err := unseal(secret, challengePrefix, c)
	if err != nil {
		return err
	}
	raw, err := b64.DecodeString(part)
	if err != nil || len(raw) != 24 {
		return errors.New("malformed")
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	if !s.now().Before(expires) {
		return fmt.Errorf("expired at %s; ask for a new one", expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// newToken issues a token for an authenticated key.
func (s *Server) newToken(ctx context.Context, k *commission.Key) (string, time.Time, error) {
	secret, err := s.secrets.get(ctx, tokenSecret)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.now().Add(s.cfg.TokenTTL).Truncate(time.Second)
	claims, err := json.Marshal(identity{KeyID: k.ID, Role: k.Role, Unit: k.Unit, Expires: expires.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	return sealed(secret, tokenPrefix, b64.EncodeToString(claims)), expires, nil
}

func unauthorized(format string, args ...any) *problem {
	return newProblem(http.StatusUnauthorized, string(commission.EUnauthorized), format, args...)
}

func forbidden(format string, args ...any) *problem {
	return newProblem(http.StatusForbidden, string(commission.EForbidden), format, args...)
}

// authenticate checks a request's bearer token: its HMAC, its expiry, and
// that its key is still enrolled and not revoked (read from the store on
// every request, so that a revocation takes effect at once).
func (s *Server) authenticate(r *http.Request) (*identity, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("this needs a token: POST /v1/auth/challenge, sign it, POST /v1/auth/token")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > maxTokenLength {
		return nil, unauthorized("the Authorization header is not \"Bearer <token>\"")
	}
	secret, err := s.secrets.get(r.Context(), tokenSecret)
	if err != nil {
		return nil, err
	}
	part, err := unseal(secret, tokenPrefix, tok)
	if err != nil {
		return nil, unauthorized("the token is not valid: %v", err)
	}
	raw, err := b64.DecodeString(part)
	if err != nil {
		return nil, unauthorized("the token is not valid: malformed")
	}
	var id identity
	if err := json.Unmarshal(raw, &id); err != nil {
		return nil, unauthorized("the token is not valid: malformed")
	}
	if expires := time.Unix(id.Expires, 0); !s.now().Before(expires) {
		return nil, unauthorized("the token expired at %s; ask for a new one", expires.UTC().Format(time.RFC3339))
	}
	k, err := s.svc.KeyInForce(r.Context(), id.KeyID)
	if err != nil {
		return nil, err // unauthorized when unknown, forbidden when revoked
	}
	if k.Role != id.Role || k.Unit != id.Unit {
		return nil, unauthorized("the token does not match its key")
	}
	return &id, nil
}

type identityKey struct{}

func withIdentity(ctx context.Context, id *identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// caller is the authenticated caller of a route that needs a token.
func caller(r *http.Request) *identity {
	id, _ := r.Context().Value(identityKey{}).(*identity)
	return id
}

// mayReadStation: a station reads itself, a supervisor the stations of
// the municipality.
func (id *identity) mayReadStation(code, municipality string) bool {
	switch id.Role {
	case enrollment.RoleStation:
		return id.Unit == code
	case enrollment.RoleSupervisor:
		return id.Unit == municipality
	}
	return false
}

func (id *identity) mayReadMunicipality(code string) bool {
	return id.Role == enrollment.RoleSupervisor && id.Unit == code
}

func (id *identity) String() string { return string(id.Role) + " " + id.Unit }
