package seal

import (
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// A vault holds a station's private key at rest, encrypted under a key
// derived from the chair's PIN or passphrase. Its binary form has a fixed
// length:
//
//	magic "TALLYKV1"   8 bytes
//	version            1 byte, 1
//	Argon2id time      4 bytes, big endian
//	Argon2id memory    4 bytes, big endian, KiB
//	Argon2id threads   1 byte
//	salt              16 bytes
//	nonce             24 bytes, XChaCha20-Poly1305
//	ciphertext        48 bytes: the 32-byte Ed25519 seed and a 16-byte tag
//
// Everything before the ciphertext is the AEAD's additional data, so that
// changing any parameter makes the vault fail to open. The key id is not
// stored: it follows from the seed.
const (
	vaultMagic     = "TALLYKV1"
	vaultVersion   = 1
	vaultSaltSize  = 16
	vaultHeaderLen = len(vaultMagic) + 1 + 4 + 4 + 1 + vaultSaltSize + chacha20poly1305.NonceSizeX
	// VaultSize is the length of every vault.
	VaultSize = vaultHeaderLen + ed25519.SeedSize + chacha20poly1305.Overhead
)

// Bounds on the KDF parameters of a vault. OpenVault checks them before
// deriving anything, so that a crafted file cannot make it allocate
// gigabytes or spin for minutes.
const (
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFTime      = 64
	maxKDFThreads   = 64
)

// Errors of OpenVault and SealVault.
var (
	ErrWrongPIN     = errors.New("vault: wrong PIN or passphrase")
	ErrVaultCorrupt = errors.New("vault: corrupt")
)

// Errors of CheckPINStrength. They carry no wording of their own for the
// user: the UI shows its own, translated.
var (
	ErrPINTooShort = errors.New("PIN too short")
	ErrPINTooWeak  = errors.New("PIN too easy to guess")
)

// MinPINLength is the least number of characters of a PIN or passphrase.
const MinPINLength = 6

// KDFParams are the Argon2id parameters of a vault.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is Argon2id with t=3, m=64 MiB, p=4: the second recommended
// option of RFC 9106 (section 4), meant for machines where memory is
// limited. A polling station's laptop is a modest one, often with 4 GiB:
// 64 MiB for the moment of unlocking is affordable there, one unlock takes
// about 0.1–0.3 s, and anyone who steals the vault file must spend the
// same 64 MiB and time on every PIN they guess.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// check returns what is out of bounds in p, or "".
func (p KDFParams) check() string {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Sprintf("time %d is outside 1–%d", p.Time, maxKDFTime)
	case p.Threads < 1 || p.Threads > maxKDFThreads:
		return fmt.Sprintf("threads %d is outside 1–%d", p.Threads, maxKDFThreads)
	case p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Sprintf("memory %d KiB is more than %d KiB", p.MemoryKiB, maxKDFMemoryKiB)
	case p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Sprintf("memory %d KiB is less than 8 KiB per thread (%d threads)", p.MemoryKiB, p.Threads)
	}
	return ""
}

// SealVault encrypts key under pin. A nil random means crypto/rand. It
// refuses an empty PIN; whether a PIN is strong enough is for the caller to
// check first, with CheckPINStrength.
func SealVault(key *PrivateKey, pin []byte, p KDFParams, random io.Reader) ([]byte, error) {
	if key == nil {
		return nil, errors.New("vault: no key to seal")
	}
	if len(pin) == 0 {
		return nil, fmt.Errorf("vault: empty PIN: %w", ErrPINTooShort)
	}
	if msg := p.check(); msg != "" {
		return nil, fmt.Errorf("vault: KDF parameters: %s", msg)
	}
	if random == nil {
		random = rand.Reader
	}
	out := make([]byte, vaultHeaderLen, VaultSize)
	copy(out, vaultMagic)
	i := len(vaultMagic)
	out[i] = vaultVersion
	binary.BigEndian.PutUint32(out[i+1:], p.Time)
	binary.BigEndian.PutUint32(out[i+5:], p.MemoryKiB)
	out[i+9] = p.Threads
	saltAndNonce := out[i+10 : vaultHeaderLen]
	if _, err := io.ReadFull(random, saltAndNonce); err != nil {
		return nil, fmt.Errorf("vault: random salt and nonce: %w", err)
	}
	salt, nonce := saltAndNonce[:vaultSaltSize], saltAndNonce[vaultSaltSize:]

	aead, err := vaultAEAD(pin, salt, p)
	if err != nil {
		return nil, err
	}
	seed := key.seed()
	defer clear(seed)
	return aead.Seal(out, nonce, seed, out[:vaultHeaderLen]), nil
}

// OpenVault decrypts a vault made by SealVault. A wrong PIN, or a vault
// changed anywhere, fails with ErrWrongPIN: the two cannot be told apart.
// A vault that is not one at all (wrong magic, version or length, or
// parameters out of bounds) fails with ErrVaultCorrupt, before any key is
// derived.
func OpenVault(data []byte, pin []byte) (*PrivateKey, error) {
	h, err := parseVaultHeader(data)
	if err != nil {
		return nil, err
	}
	aead, err := vaultAEAD(pin, h.salt, h.params)
	if err != nil {
		return nil, err
	}
	seed, err := aead.Open(nil, h.nonce, data[vaultHeaderLen:], data[:vaultHeaderLen])
	if err != nil {
		return nil, ErrWrongPIN
	}
	defer clear(seed)
	return PrivateKeyFromSeed(seed)
}

// VaultKDF returns the KDF parameters a vault was sealed with, for example
// to re-seal it with DefaultKDF when the default has grown.
func VaultKDF(data []byte) (KDFParams, error) {
	h, err := parseVaultHeader(data)
	if err != nil {
		return KDFParams{}, err
	}
	return h.params, nil
}

type vaultHeader struct {
	params KDFParams
	salt   []byte
	nonce  []byte
}

func parseVaultHeader(data []byte) (vaultHeader, error) {
	if len(data) < len(vaultMagic)+1 || string(data[:len(vaultMagic)]) != vaultMagic {
		return vaultHeader{}, fmt.Errorf("vault: not a Tally key vault: %w", ErrVaultCorrupt)
	}
	if v := data[len(vaultMagic)]; v != vaultVersion {
		return vaultHeader{}, fmt.Errorf("vault: unknown version %d: %w", v, ErrVaultCorrupt)
	}
	if len(data) < VaultSize {
		return vaultHeader{}, fmt.Errorf("vault: truncated: %d bytes, want %d: %w", len(data), VaultSize, ErrVaultCorrupt)
	}
	if len(data) > VaultSize {
		return vaultHeader{}, fmt.Errorf("vault: %d bytes, want %d: %w", len(data), VaultSize, ErrVaultCorrupt)
	}
	i := len(vaultMagic) + 1
	h := vaultHeader{
		params: KDFParams{
			Time:      binary.BigEndian.Uint32(data[i:]),
			MemoryKiB: binary.BigEndian.Uint32(data[i+4:]),
			Threads:   data[i+8],
		},
		salt:  data[i+9 : i+9+vaultSaltSize],
		nonce: data[i+9+vaultSaltSize : vaultHeaderLen],
	}
	if msg := h.params.check(); msg != "" {
		return vaultHeader{}, fmt.Errorf("vault: KDF parameters: %s: %w", msg, ErrVaultCorrupt)
	}
	return h, nil
}

func vaultAEAD(pin, salt []byte, p KDFParams) (cipher.AEAD, error) {
	k := argon2.IDKey(pin, salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	defer clear(k)
	aead, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return aead, nil
}

// WriteVaultFile writes a vault to path, replacing any previous one (as when
// the PIN changes) whole or not at all, readable by its owner only.
func WriteVaultFile(path string, data []byte) error {
	if _, err := parseVaultHeader(data); err != nil {
		return fmt.Errorf("vault: refusing to write: %w", err)
	}
	if err := writeFileAtomic(path, data, 0o600, true); err != nil {
		return fmt.Errorf("vault: write %s: %w", path, err)
	}
	return nil
}

// ReadVaultFile reads a vault file. It reads no more than a vault's length
// and fails with ErrVaultCorrupt if the file is not one.
func ReadVaultFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(VaultSize)+1))
	if err != nil {
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	if _, err := parseVaultHeader(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// CheckPINStrength refuses a PIN or passphrase that is shorter than
// MinPINLength characters (ErrPINTooShort) or among the first an attacker
// would try (ErrPINTooWeak): one character repeated or a short pattern
// repeated (111111, 121212, 123123), a straight run up or down (123456,
// 654321, 1234567890, abcdef), or one of a list of the most common PINs
// and passwords.
func CheckPINStrength(pin string) error {
	if utf8.RuneCountInString(pin) < MinPINLength {
		return ErrPINTooShort
	}
	r := []rune(strings.ToLower(pin))
	if isRepeatedPattern(r, 3) || isStraightRun(r) || commonPINs[string(r)] {
		return ErrPINTooWeak
	}
	return nil
}

// isRepeatedPattern reports whether r is a block of at most maxPeriod
// characters repeated, such as 111111, 121212 or 123123.
func isRepeatedPattern(r []rune, maxPeriod int) bool {
	for period := 1; period <= maxPeriod && period < len(r); period++ {
		if len(r)%period != 0 {
			continue
		}
		same := true
		for i := period; i < len(r) && same; i++ {
			same = r[i] == r[i-period]
		}
		if same {
			return true
		}
	}
	return false
}

// isStraightRun reports whether every character is one above (or every one
// below) the one before it: 123456, 654321, abcdef. Digits wrap around, as
// on a keypad's top row: 1234567890 and 0987654321.
func isStraightRun(r []rune) bool {
	step := func(a, b rune) rune {
		d := b - a
		if isDigit(a) && isDigit(b) {
			d = (d + 10) % 10
			if d == 9 {
				d = -1
			}
		}
		return d
	}
	first := step(r[0], r[1])
	if first != 1 && first != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if step(r[i-1], r[i]) != first {
			return false
		}
	}
	return true
}

func isDigit(c rune) bool { return '0' <= c && c <= '9' }

// commonPINs are frequent six-or-more character PINs and passwords that
// the pattern rules above do not catch (lowercase).
var commonPINs = func() map[string]bool {
	m := make(map[string]bool)
	for _, s := range []string{
		"112233", "111222", "000111", "111000", "123321", "654123", "123654",
		"789456", "456123", "159753", "159357", "147258", "147852", "147369",
		"258369", "963852", "741852", "123789", "135790", "159951",
		"102030", "100200", "696969", "112211", "123000", "121314",
		"123456a", "123qwe",
		"password", "passwort", "qwerty", "qwertz", "qwerty123", "asdfgh",
		"zxcvbn", "abc123", "1q2w3e", "1q2w3e4r", "iloveyou", "letmein",
		"admin123", "welcome", "kosova", "kosovo", "prishtina", "fjalekalimi",
		"lozinka", "sifra123",
	} {
		m[s] = true
	}
	return m
}()
