package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
)

// PublicKeyPrefix starts the text form of a public key.
const PublicKeyPrefix = "ed25519:"

// algorithmEd25519 is the only algorithm of the key files.
const algorithmEd25519 = "ed25519"

// maxKeyFileSize bounds what ReadPrivateKeyFile and ReadPublicKeyFile read:
// a key file is a few hundred bytes.
const maxKeyFileSize = 4 << 10

// PublicKey is an Ed25519 public key with its key id.
//
// In JSON (and any other text encoding) a PublicKey is written in the text
// form of EncodePublicKey, "ed25519:" followed by standard base64.
type PublicKey struct {
	Key ed25519.PublicKey
	ID  string // KeyID(Key)
}

// PrivateKey is an Ed25519 private key. It signs only through Sign, so that
// every signature it makes is over a DSSE pre-authentication encoding and
// can never be mistaken for a signature over anything else.
type PrivateKey struct {
	key ed25519.PrivateKey
	pub PublicKey
}

// KeyID is the key id of an Ed25519 public key: the lowercase hex SHA-256 of
// its 32 raw bytes. It is the keyid of every signature the key makes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// Fingerprint formats a key id for people to compare with a printed sheet:
// its first 20 bytes (40 hex characters), uppercase, in groups of four,
// such as "3F2A 09C1 …". Comparing the fingerprint on screen with the one
// on paper is how a commissioner confirms which key is in use.
func Fingerprint(keyID string) string {
	s := strings.ToUpper(keyID)
	if len(s) > 40 {
		s = s[:40]
	}
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// MatchesFingerprint reports whether a fingerprint a person typed or
// scanned — any case, with or without spaces — is the key id's.
func MatchesFingerprint(typed, keyID string) bool {
	clean := strings.ToUpper(strings.Join(strings.Fields(typed), ""))
	return len(clean) == 40 && clean == strings.ReplaceAll(Fingerprint(keyID), " ", "")
}

// GenerateKey makes a new key pair from rand; a nil rand means crypto/rand.
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("seal: generate key: %w", err)
	}
	return newPrivateKey(priv), nil
}

// PrivateKeyFromSeed rebuilds a private key from its 32-byte seed.
func PrivateKeyFromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("seal: private key seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return newPrivateKey(ed25519.NewKeyFromSeed(seed)), nil
}

func newPrivateKey(priv ed25519.PrivateKey) *PrivateKey {
	pub := priv.Public().(ed25519.PublicKey)
	return &PrivateKey{key: priv, pub: PublicKey{Key: pub, ID: KeyID(pub)}}
}

// Public returns the public half of the key.
func (k *PrivateKey) Public() PublicKey {
	return PublicKey{Key: bytes.Clone(k.pub.Key), ID: k.pub.ID}
}

// ID returns the key id of the public half.
func (k *PrivateKey) ID() string { return k.pub.ID }

// seed returns the 32-byte seed the key is made from.
func (k *PrivateKey) seed() []byte { return k.key.Seed() }

// sign signs a message that must already be a pre-authentication encoding.
func (k *PrivateKey) sign(pae []byte) []byte { return ed25519.Sign(k.key, pae) }

// NewPublicKey wraps a raw Ed25519 public key and computes its key id.
func NewPublicKey(key ed25519.PublicKey) (PublicKey, error) {
	if len(key) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("seal: public key is %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	key = bytes.Clone(key)
	return PublicKey{Key: key, ID: KeyID(key)}, nil
}

// check reports whether a PublicKey is usable for verifying: the right
// length, and an ID that belongs to the key.
func (p PublicKey) check() error {
	if len(p.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("seal: public key is %d bytes, want %d", len(p.Key), ed25519.PublicKeySize)
	}
	if want := KeyID(p.Key); p.ID != want {
		return fmt.Errorf("seal: public key id %q does not belong to the key (its id is %s)", p.ID, want)
	}
	return nil
}

// EncodePublicKey writes a public key in its text form, "ed25519:" followed
// by the standard, padded base64 of its 32 bytes. The form is canonical:
// ParsePublicKey accepts no other spelling of the same key.
func EncodePublicKey(pub PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub.Key)
}

// ParsePublicKey reads the text form written by EncodePublicKey.
func ParsePublicKey(s string) (PublicKey, error) {
	rest, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("seal: public key %s does not start with %q", quoteShort(s), PublicKeyPrefix)
	}
	key, err := decodeBase64([]byte(rest), false)
	if err != nil {
		return PublicKey{}, fmt.Errorf("seal: public key: %v", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("seal: public key is %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return PublicKey{Key: key, ID: KeyID(key)}, nil
}

// MarshalText implements encoding.TextMarshaler with EncodePublicKey.
func (p PublicKey) MarshalText() ([]byte, error) {
	if len(p.Key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("seal: public key is %d bytes, want %d", len(p.Key), ed25519.PublicKeySize)
	}
	return []byte(EncodePublicKey(p)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParsePublicKey.
func (p *PublicKey) UnmarshalText(text []byte) error {
	k, err := ParsePublicKey(string(text))
	if err != nil {
		return err
	}
	*p = k
	return nil
}

// privateKeyFile is the JSON of a private key file.
type privateKeyFile struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"keyid"`
	Seed      string `json:"seed"`
}

// publicKeyFile is the JSON of a public key file.
type publicKeyFile struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"keyid"`
	PublicKey string `json:"public_key"`
}

// WritePrivateKeyFile writes a private key, unencrypted, to a new file that
// only its owner can read (mode 0600). It is meant for the commission's
// server keys (definition, receipt, publication), which sign unattended;
// a station's key rests in a vault instead (see SealVault).
//
// The file appears whole or not at all, and an existing file is never
// overwritten: replacing a key by accident would orphan everything it
// signed.
func WritePrivateKeyFile(path string, key *PrivateKey) error {
	if key == nil {
		return errors.New("seal: write private key file: no key")
	}
	seed := key.seed()
	data, err := json.MarshalIndent(privateKeyFile{
		Algorithm: algorithmEd25519,
		KeyID:     key.ID(),
		Seed:      base64.StdEncoding.EncodeToString(seed),
	}, "", "  ")
	clear(seed)
	if err != nil {
		return fmt.Errorf("seal: write private key file: %w", err)
	}
	data = append(data, '\n')
	defer clear(data)
	if err := writeFileAtomic(path, data, 0o600, false); err != nil {
		return fmt.Errorf("seal: write private key file: %w", err)
	}
	return nil
}

// ReadPrivateKeyFile reads a file written by WritePrivateKeyFile. It refuses
// a file that group or others may access, as ssh does, and a file whose key
// id does not match its seed.
func ReadPrivateKeyFile(path string) (*PrivateKey, error) {
	data, err := readKeyFile(path, true)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	var f privateKeyFile
	if err := decodeKeyFile(data, &f); err != nil {
		return nil, fmt.Errorf("seal: private key file %s: %v", path, err)
	}
	if f.Algorithm != algorithmEd25519 {
		return nil, fmt.Errorf("seal: private key file %s: algorithm %s, want %q", path, quoteShort(f.Algorithm), algorithmEd25519)
	}
	seed, err := decodeBase64([]byte(f.Seed), false)
	if err != nil {
		return nil, fmt.Errorf("seal: private key file %s: seed: %v", path, err)
	}
	defer clear(seed)
	key, err := PrivateKeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("seal: private key file %s: %v", path, err)
	}
	if f.KeyID != key.ID() {
		return nil, fmt.Errorf("seal: private key file %s: keyid %s does not match the key (its id is %s)", path, quoteShort(f.KeyID), key.ID())
	}
	return key, nil
}

// WritePublicKeyFile writes a public key to a new file (mode 0644), whole or
// not at all, and never over an existing file.
func WritePublicKeyFile(path string, pub PublicKey) error {
	if err := pub.check(); err != nil {
		return fmt.Errorf("seal: write public key file: %w", err)
	}
	data, err := json.MarshalIndent(publicKeyFile{
		Algorithm: algorithmEd25519,
		KeyID:     pub.ID,
		PublicKey: EncodePublicKey(pub),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("seal: write public key file: %w", err)
	}
	data = append(data, '\n')
	if err := writeFileAtomic(path, data, 0o644, false); err != nil {
		return fmt.Errorf("seal: write public key file: %w", err)
	}
	return nil
}

// ReadPublicKeyFile reads a file written by WritePublicKeyFile and checks
// that its keyid belongs to its key.
func ReadPublicKeyFile(path string) (PublicKey, error) {
	data, err := readKeyFile(path, false)
	if err != nil {
		return PublicKey{}, err
	}
	var f publicKeyFile
	if err := decodeKeyFile(data, &f); err != nil {
		return PublicKey{}, fmt.Errorf("seal: public key file %s: %v", path, err)
	}
	if f.Algorithm != algorithmEd25519 {
		return PublicKey{}, fmt.Errorf("seal: public key file %s: algorithm %s, want %q", path, quoteShort(f.Algorithm), algorithmEd25519)
	}
	pub, err := ParsePublicKey(f.PublicKey)
	if err != nil {
		return PublicKey{}, fmt.Errorf("seal: public key file %s: %v", path, err)
	}
	if f.KeyID != pub.ID {
		return PublicKey{}, fmt.Errorf("seal: public key file %s: keyid %s does not match the key (its id is %s)", path, quoteShort(f.KeyID), pub.ID)
	}
	return pub, nil
}

// readKeyFile reads a small key file; private ones must not be accessible
// to group or others. The mode is taken from the open file, so it is the
// mode of what is read.
func readKeyFile(path string, private bool) ([]byte, error) {
	kind := "public"
	if private {
		kind = "private"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: read %s key file: %w", kind, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: read %s key file: %w", kind, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: %s key file %s is not a regular file", kind, path)
	}
	// Windows has no group and other permission bits to check.
	if private && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: private key file %s is accessible by group or others (mode %04o); make it readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read %s key file: %w", kind, err)
	}
	if len(data) > maxKeyFileSize {
		clear(data)
		return nil, fmt.Errorf("seal: %s key file %s is larger than %d bytes: not a key file", kind, path, maxKeyFileSize)
	}
	return data, nil
}

// decodeKeyFile decodes one JSON object with no unknown fields and nothing
// after it.
func decodeKeyFile(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a key file: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("not a key file: trailing data after the JSON object")
	}
	return nil
}

// Keyring is a set of trusted public keys, looked up by key id. It is safe
// for concurrent use.
type Keyring struct {
	mu   sync.RWMutex
	keys map[string]PublicKey
}

// NewKeyring returns a keyring trusting keys. It fails if a key has the
// wrong length or an ID that is not its key id.
func NewKeyring(keys ...PublicKey) (*Keyring, error) {
	r := &Keyring{keys: make(map[string]PublicKey, len(keys))}
	for _, k := range keys {
		if err := r.Add(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add trusts one more key. Adding a key that is already there does nothing.
func (r *Keyring) Add(k PublicKey) error {
	if err := k.check(); err != nil {
		return err
	}
	k.Key = bytes.Clone(k.Key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = make(map[string]PublicKey)
	}
	r.keys[k.ID] = k
	return nil
}

// Lookup returns the trusted key with the given key id.
func (r *Keyring) Lookup(id string) (PublicKey, bool) {
	if r == nil {
		return PublicKey{}, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[id]
	return k, ok
}

// Len returns the number of trusted keys.
func (r *Keyring) Len() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys)
}
