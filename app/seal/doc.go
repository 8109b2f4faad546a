// Package seal signs and verifies Tally's documents and keeps a station's
// private key at rest.
//
// # Envelopes
//
// Everything Tally signs — an election definition, a submission, a
// receipt, a supervisor's decision, a results snapshot — travels as a DSSE
// v1 envelope (https://github.com/secure-systems-lab/dsse): a JSON object
// with a payloadType, the base64 payload and Ed25519 signatures, each
// naming its key by key id (the hex SHA-256 of the raw public key). A
// signature covers PAE(payloadType, payload), so a signature over one kind
// of document never passes for another kind.
//
// Open verifies the exact bytes received; nothing is re-serialised before
// verifying. Its policy:
//
//   - the envelope must parse strictly (see Parse) and carry the expected
//     payload type;
//   - every signature by a key in the caller's Keyring must verify: a bad
//     one means tampering, and the envelope is refused with ErrBadSignature;
//   - signatures by keys outside the keyring are ignored;
//   - at least one signature by a trusted key is required (ErrUntrusted).
//
// An envelope's identity is Digest, the SHA-256 of its bytes as received;
// receipts quote it and a new version of a submission names the one it
// supersedes by it.
//
// All errors of Parse and Open wrap one of ErrMalformed, ErrTooLarge,
// ErrPayloadType, ErrUntrusted and ErrBadSignature.
//
// # Keys
//
// A station's key is made on the station's laptop and never leaves it.
// The commission's keys (definition, receipt, publication) sign unattended
// on the server and live in key files (WritePrivateKeyFile), readable by
// their owner only. Public keys are written "ed25519:" + base64 in JSON
// documents and, for people, shown as a Fingerprint.
//
// # Vault
//
// A station's private key rests in a vault: its 32-byte seed encrypted
// with XChaCha20-Poly1305 under a key derived by Argon2id from the chair's
// PIN or passphrase. A vault is VaultSize bytes:
//
//	"TALLYKV1" | version 1 | time u32 | memory KiB u32 | threads u8 |
//	salt (16) | nonce (24) | ciphertext (32 + 16)
//
// with integers big-endian and everything before the ciphertext
// authenticated as additional data. OpenVault refuses parameters out of
// sane bounds before deriving any key. Wrong PINs are slowed down by a
// Throttle (see Unlock); the file itself is protected by the cost of
// Argon2id on every guess.
package seal
