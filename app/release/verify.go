package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tally/app/seal"
)

// maxSumsSize bounds SHA256SUMS.
const maxSumsSize = 1 << 20

// Check is what Verify found for one file of a release directory.
type Check struct {
	Name string
	// Problem says what does not match; empty when the file matches.
	Problem string
	// Authenticode is the certificate whose signature of a Windows file
	// verified here.
	Authenticode *Signer
}

// Report is what Verify found in a release directory.
type Report struct {
	Manifest *Manifest
	// SignedBy are the ids of the trusted keys whose signatures verified.
	SignedBy []string
	// Files are SHA256SUMS, then the artifacts in the manifest's order,
	// then whatever the directory holds that the manifest does not name.
	Files []Check
}

// Failed lists the checks with a problem.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Files {
		if c.Problem != "" {
			out = append(out, c)
		}
	}
	return out
}

// Match names what in the release has the given SHA-256: an artifact
// ("NAME"), or a file a package installs ("NAME: PATH").
func (r *Report) Match(sum string) []string {
	sum = strings.ToLower(sum)
	var out []string
	for _, f := range r.Manifest.Files {
		if f.SHA256 == sum {
			out = append(out, f.Name)
		}
		for _, in := range f.Installs {
			if in.SHA256 == sum {
				out = append(out, f.Name+": "+in.Path)
			}
		}
	}
	return out
}

// MismatchError is Verify's error when the manifest verified but some
// files do not match it. It names every such file.
type MismatchError struct {
	Failed []Check
}

func (e *MismatchError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		parts[i] = c.Name + " (" + c.Problem + ")"
	}
	noun := "files do"
	if len(e.Failed) == 1 {
		noun = "file does"
	}
	return fmt.Sprintf("release: %d %s not match the signed manifest: %s", len(e.Failed), noun, strings.Join(parts, "; "))
}

// Verify checks a release directory: the manifest's signature by a key in
// ring, every artifact's size and SHA-256 (and Authenticode signature,
// where the manifest names one), SHA256SUMS against the manifest, and that
// the directory holds nothing the manifest does not name. It returns an
// error without a report when the manifest itself cannot be trusted, and a
// report with a *MismatchError when some files do not match.
func Verify(dir string, ring *seal.Keyring) (*Report, error) {
	raw, err := readSmall(filepath.Join(dir, ManifestFile), MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	m, opened, err := Open(raw, ring)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	r := &Report{Manifest: m, SignedBy: opened.SignedBy}
	r.Files = append(r.Files, Check{Name: SumsFile, Problem: checkSums(dir, m)})
	named := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		named[f.Name] = true
		r.Files = append(r.Files, checkFile(dir, f))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !named[e.Name()] && !reserved[e.Name()] {
			r.Files = append(r.Files, Check{Name: e.Name(), Problem: "not in the signed manifest"})
		}
	}
	if failed := r.Failed(); len(failed) > 0 {
		return r, &MismatchError{Failed: failed}
	}
	return r, nil
}

// checkFile compares one artifact with its manifest entry.
func checkFile(dir string, f File) Check {
	c := Check{Name: f.Name}
	path := filepath.Join(dir, f.Name)
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Problem = "missing"
		return c
	case err != nil:
		c.Problem = err.Error()
		return c
	case !fi.Mode().IsRegular():
		c.Problem = "not a regular file"
		return c
	case fi.Size() != f.Size:
		c.Problem = fmt.Sprintf("%d bytes, the manifest says %d", fi.Size(), f.Size)
		return c
	}
	var data []byte
	var sum string
	if f.Authenticode != nil {
		// The signature check needs the whole file; Windows files are tens
		// of megabytes.
		if data, err = os.ReadFile(path); err != nil {
			c.Problem = err.Error()
			return c
		}
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
	} else if sum, err = HashFile(path); err != nil {
		c.Problem = err.Error()
		return c
	}
	if sum != f.SHA256 {
		c.Problem = fmt.Sprintf("sha256 %s…, the manifest says %s…", sum[:16], f.SHA256[:16])
		return c
	}
	if f.Authenticode != nil {
		signer, err := Authenticode(data)
		switch {
		case err != nil:
			c.Problem = "authenticode: " + err.Error()
		case signer.CertSHA256 != f.Authenticode.CertSHA256:
			c.Problem = fmt.Sprintf("authenticode: signed by certificate %s…, the manifest says %s…", signer.CertSHA256[:16], f.Authenticode.CertSHA256[:16])
		default:
			c.Authenticode = signer
		}
	}
	return c
}

// checkSums compares SHA256SUMS with the manifest and says what differs.
func checkSums(dir string, m *Manifest) string {
	data, err := readSmall(filepath.Join(dir, SumsFile), maxSumsSize)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	} else if err != nil {
		return err.Error()
	}
	sums, err := ParseSums(data)
	if err != nil {
		return err.Error()
	}
	var problems []string
	for _, f := range m.Files {
		got, ok := sums[f.Name]
		switch {
		case !ok:
			problems = append(problems, "does not list "+f.Name)
		case got != f.SHA256:
			problems = append(problems, "the hash of "+f.Name+" differs from the signed manifest")
		}
		delete(sums, f.Name)
	}
	extra := make([]string, 0, len(sums))
	for name := range sums {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, "lists "+name+", which the signed manifest does not")
	}
	return strings.Join(problems, "; ")
}

// HashFile is the hex SHA-256 of a file's content.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readSmall reads a regular file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%d bytes, larger than the %d allowed", fi.Size(), max)
	}
	return os.ReadFile(path)
}
