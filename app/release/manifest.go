// Package release describes one release of Tally — every file built from
// one commit — in a manifest signed with the release key, and checks a
// release directory against it.
//
// A release directory holds the artifacts (installers, packages, binaries)
// and three files about them:
//
//	SHA256SUMS         one "HASH  NAME" line per artifact, as sha256sum writes
//	release.dsse.json  the manifest: a DSSE envelope (payload type PayloadType)
//	                   signed with the release key
//	release.pub        the release public key, for convenience only: trust
//	                   comes from a key or fingerprint the checker already has
//
// The manifest names each artifact with its size and SHA-256, the files each
// package installs with theirs (so that an installed binary can be matched
// to the release), and, for a Windows file signed with Authenticode, the
// certificate that signed it. Verify checks all of it and names every file
// that does not match.
package release

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"tally/app/seal"
)

const (
	// PayloadType is the DSSE payload type of a release manifest.
	PayloadType = "application/vnd.tally.release+json"
	// ManifestFile is the name of the signed manifest in a release directory.
	ManifestFile = "release.dsse.json"
	// SumsFile is the name of the checksum list in a release directory.
	SumsFile = "SHA256SUMS"
	// KeyFile is the name of the release public key in a release directory.
	KeyFile = "release.pub"
	// MaxManifestSize bounds the signed manifest read from a directory.
	MaxManifestSize = 1 << 20
	// maxFiles bounds the artifacts and the installed files of one manifest.
	maxFiles = 10000
)

// Manifest is the signed description of a release.
type Manifest struct {
	Product string `json:"product"`
	Version string `json:"version"`
	// Commit is the source commit the release was built from; Modified is
	// set when the working tree had changes not in that commit.
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
	// SourceDateEpoch is the commit's time in Unix seconds, the only time
	// that goes into the artifacts.
	SourceDateEpoch int64  `json:"source_date_epoch"`
	Toolchain       string `json:"toolchain"`
	Files           []File `json:"files"`
}

// File is one artifact of a release.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Authenticode is the certificate that signed a Windows file; nil when
	// the file is not signed.
	Authenticode *Signer `json:"authenticode,omitempty"`
	// Installs are the files that a package or installer puts on a machine.
	Installs []Installed `json:"installs,omitempty"`
}

// Installed is one file inside a package, by its path in the package.
type Installed struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Signer names an Authenticode signing certificate.
type Signer struct {
	Subject string `json:"subject"`
	// CertSHA256 is the SHA-256 of the certificate's DER bytes.
	CertSHA256 string `json:"certificate_sha256"`
}

// reserved are the names of a release directory that are not artifacts.
var reserved = map[string]bool{ManifestFile: true, SumsFile: true, KeyFile: true}

// Check reports the first thing wrong with a manifest, naming the field.
func (m *Manifest) Check() error {
	switch {
	case m.Product == "":
		return errors.New("release manifest: product is empty")
	case m.Version == "":
		return errors.New("release manifest: version is empty")
	case m.Commit == "":
		return errors.New("release manifest: commit is empty")
	case m.SourceDateEpoch < 0:
		return fmt.Errorf("release manifest: source_date_epoch %d is negative", m.SourceDateEpoch)
	case len(m.Files) == 0:
		return errors.New("release manifest: no files")
	case len(m.Files) > maxFiles:
		return fmt.Errorf("release manifest: %d files, at most %d allowed", len(m.Files), maxFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	installed := 0
	for i, f := range m.Files {
		if err := CheckName(f.Name); err != nil {
			return fmt.Errorf("release manifest: files[%d]: %w", i, err)
		}
		if seen[f.Name] {
			return fmt.Errorf("release manifest: files[%d]: %s is listed twice", i, f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 {
			return fmt.Errorf("release manifest: %s: size %d is negative", f.Name, f.Size)
		}
		if !isSHA256(f.SHA256) {
			return fmt.Errorf("release manifest: %s: sha256 %q is not 64 lowercase hex digits", f.Name, short(f.SHA256))
		}
		if s := f.Authenticode; s != nil && !isSHA256(s.CertSHA256) {
			return fmt.Errorf("release manifest: %s: authenticode certificate_sha256 %q is not 64 lowercase hex digits", f.Name, short(s.CertSHA256))
		}
		installed += len(f.Installs)
		if installed > maxFiles {
			return fmt.Errorf("release manifest: more than %d installed files", maxFiles)
		}
		for j, in := range f.Installs {
			if in.Path == "" || strings.ContainsAny(in.Path, "\x00\n") {
				return fmt.Errorf("release manifest: %s: installs[%d]: path %q is empty or has a NUL or newline", f.Name, j, short(in.Path))
			}
			if !isSHA256(in.SHA256) {
				return fmt.Errorf("release manifest: %s: installs[%d] %s: sha256 %q is not 64 lowercase hex digits", f.Name, j, in.Path, short(in.SHA256))
			}
		}
	}
	return nil
}

// CheckName refuses an artifact name that is not a plain file name of a
// release directory.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case len(name) > 255:
		return fmt.Errorf("file name %q is longer than 255 bytes", short(name))
	case strings.ContainsAny(name, "/\\:\x00\n\r\t"):
		return fmt.Errorf("file name %q has a path separator or control character", short(name))
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-"):
		return fmt.Errorf("file name %q starts with a dot or dash", short(name))
	case reserved[name]:
		return fmt.Errorf("file name %q is reserved for the release's own files", name)
	}
	return nil
}

// Sign checks the manifest and signs it with the release key, files sorted
// by name.
func Sign(m *Manifest, key *seal.PrivateKey) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	sorted := *m
	sorted.Files = append([]File(nil), m.Files...)
	sort.Slice(sorted.Files, func(i, j int) bool { return sorted.Files[i].Name < sorted.Files[j].Name })
	payload, err := json.MarshalIndent(&sorted, "", "  ")
	if err != nil {
		return nil, err
	}
	return seal.Sign(PayloadType, append(payload, '\n'), key)
}

// Open verifies a signed manifest against the trusted release keys and
// decodes it strictly.
func Open(raw []byte, ring *seal.Keyring) (*Manifest, *seal.Opened, error) {
	opened, err := seal.Open(raw, MaxManifestSize, PayloadType, ring)
	if err != nil {
		return nil, nil, fmt.Errorf("release manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(opened.Payload))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("release manifest: payload: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("release manifest: payload: data after the manifest")
	}
	if err := m.Check(); err != nil {
		return nil, nil, err
	}
	return &m, opened, nil
}

// Sums is the text of SHA256SUMS for the files, in the format of
// sha256sum (two spaces: text mode, which is what `sha256sum -c` expects).
func Sums(files []File) []byte {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	for _, f := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	return b.Bytes()
}

// ParseSums reads SHA256SUMS: one "HASH  NAME" or "HASH *NAME" line per
// file. It returns the hash of each name, and an error naming the line of
// anything else.
func ParseSums(data []byte) (map[string]string, error) {
	sums := make(map[string]string)
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		n := i + 1
		if len(line) < 67 || !isSHA256(line[:64]) || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') {
			return nil, fmt.Errorf("%s: line %d: not \"SHA256  NAME\" with 64 lowercase hex digits", SumsFile, n)
		}
		name := line[66:]
		if err := CheckName(name); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", SumsFile, n, err)
		}
		if _, dup := sums[name]; dup {
			return nil, fmt.Errorf("%s: line %d: %s is listed twice", SumsFile, n, name)
		}
		sums[name] = line[:64]
	}
	return sums, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// short cuts a value for an error message.
func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
