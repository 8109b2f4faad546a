package release_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tally/app/release"
	"tally/app/seal"
)

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func newKey(t *testing.T) *seal.PrivateKey {
	t.Helper()
	key, err := seal.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func ringOf(t *testing.T, keys ...*seal.PrivateKey) *seal.Keyring {
	t.Helper()
	var pubs []seal.PublicKey
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	ring, err := seal.NewKeyring(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// artifacts are the files of the test release.
var artifacts = map[string][]byte{
	"tally_1.2.3_amd64.deb":               []byte("a Debian package of the app"),
	"tallyd-1.2.3-linux-amd64":            []byte("\x7fELF the server"),
	"tally-1.2.3-windows-amd64-setup.exe": []byte("MZ not really an installer"),
}

// writeRelease writes a release directory as build.sh does: the artifacts,
// SHA256SUMS and the manifest signed with key.
func writeRelease(t *testing.T, key *seal.PrivateKey) (string, *release.Manifest) {
	t.Helper()
	dir := t.TempDir()
	m := &release.Manifest{Product: "tally", Version: "1.2.3", Commit: strings.Repeat("ab", 20),
		SourceDateEpoch: 1767225600, Toolchain: "go1.26.8"}
	for name, data := range artifacts {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		f := release.File{Name: name, Size: int64(len(data)), SHA256: sum(data)}
		if strings.HasSuffix(name, ".deb") {
			f.Installs = []release.Installed{{Path: "usr/bin/tally", SHA256: sum([]byte("the app's binary"))}}
		}
		m.Files = append(m.Files, f)
	}
	env, err := release.Sign(m, key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, release.ManifestFile), env)
	write(t, filepath.Join(dir, release.SumsFile), release.Sums(m.Files))
	if err := seal.WritePublicKeyFile(filepath.Join(dir, release.KeyFile), key.Public()); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// failedNames are the names of the files a mismatch error names.
func failedNames(t *testing.T, err error) []string {
	t.Helper()
	var mm *release.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("error %v, want a *MismatchError", err)
	}
	var names []string
	for _, c := range mm.Failed {
		names = append(names, c.Name)
		if !strings.Contains(err.Error(), c.Name) {
			t.Errorf("the error %q does not name %s", err, c.Name)
		}
	}
	return names
}

func TestVerify(t *testing.T) {
	key := newKey(t)

	t.Run("OK", func(t *testing.T) {
		dir, m := writeRelease(t, key)
		r, err := release.Verify(dir, ringOf(t, key))
		if err != nil {
			t.Fatal(err)
		}
		if r.Manifest.Version != "1.2.3" || len(r.Manifest.Files) != len(m.Files) {
			t.Errorf("manifest %+v", r.Manifest)
		}
		if !reflect.DeepEqual(r.SignedBy, []string{key.ID()}) {
			t.Errorf("signed by %v, want %s", r.SignedBy, key.ID())
		}
		if len(r.Files) != len(artifacts)+1 || r.Files[0].Name != release.SumsFile {
			t.Errorf("checks %+v: want SHA256SUMS and every artifact", r.Files)
		}
	})

	// Each tampering must be caught and the file it touched named, and
	// only that file.
	tamper := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string
		reason string
	}{
		{"ByteFlipped", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "tallyd-1.2.3-linux-amd64")
			data, _ := os.ReadFile(p)
			data[3] ^= 1
			write(t, p, data)
		}, []string{"tallyd-1.2.3-linux-amd64"}, "sha256"},
		{"Longer", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "tally_1.2.3_amd64.deb")
			data, _ := os.ReadFile(p)
			write(t, p, append(data, 0))
		}, []string{"tally_1.2.3_amd64.deb"}, "bytes, the manifest says"},
		{"Missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "tally-1.2.3-windows-amd64-setup.exe"))
		}, []string{"tally-1.2.3-windows-amd64-setup.exe"}, "missing"},
		{"ExtraFile", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "tally-1.2.4-windows-amd64-setup.exe"), []byte("MZ"))
		}, []string{"tally-1.2.4-windows-amd64-setup.exe"}, "not in the signed manifest"},
		{"Symlink", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "tallyd-1.2.3-linux-amd64")
			other := filepath.Join(t.TempDir(), "tallyd")
			write(t, other, artifacts["tallyd-1.2.3-linux-amd64"])
			os.Remove(p)
			if err := os.Symlink(other, p); err != nil {
				t.Fatal(err)
			}
		}, []string{"tallyd-1.2.3-linux-amd64"}, "not a regular file"},
		{"SumsChanged", func(t *testing.T, dir string) {
			p := filepath.Join(dir, release.SumsFile)
			data, _ := os.ReadFile(p)
			old := sum(artifacts["tally_1.2.3_amd64.deb"])
			write(t, p, []byte(strings.Replace(string(data), old, sum([]byte("other")), 1)))
		}, []string{release.SumsFile}, "the hash of tally_1.2.3_amd64.deb differs"},
		{"SumsLineRemoved", func(t *testing.T, dir string) {
			p := filepath.Join(dir, release.SumsFile)
			data, _ := os.ReadFile(p)
			lines := strings.SplitAfter(string(data), "\n")
			write(t, p, []byte(strings.Join(lines[1:], "")))
		}, []string{release.SumsFile}, "does not list"},
		{"SumsMissing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, release.SumsFile))
		}, []string{release.SumsFile}, "missing"},
		{"TwoFiles", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "tally_1.2.3_amd64.deb"), []byte("a Debian package of the apP"))
			write(t, filepath.Join(dir, "tallyd-1.2.3-linux-amd64"), []byte("\x7fELF the serveR"))
		}, []string{"tally_1.2.3_amd64.deb", "tallyd-1.2.3-linux-amd64"}, "sha256"},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := writeRelease(t, key)
			tc.change(t, dir)
			r, err := release.Verify(dir, ringOf(t, key))
			if err == nil {
				t.Fatal("a tampered release verified")
			}
			if r == nil {
				t.Fatalf("no report: %v", err)
			}
			names := failedNames(t, err)
			if !equalSets(names, tc.want) {
				t.Errorf("named %v, want %v (%v)", names, tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}

	t.Run("ErrOtherKey", func(t *testing.T) {
		dir, _ := writeRelease(t, newKey(t))
		r, err := release.Verify(dir, ringOf(t, key))
		if !errors.Is(err, seal.ErrUntrusted) || r != nil {
			t.Fatalf("signed by another key: report %v, error %v; want ErrUntrusted", r, err)
		}
	})

	t.Run("ErrManifestChanged", func(t *testing.T) {
		dir, m := writeRelease(t, key)
		// A manifest that lists other bytes, with the old signature.
		p := filepath.Join(dir, release.ManifestFile)
		env, _ := os.ReadFile(p)
		e, err := seal.Parse(env, release.MaxManifestSize)
		if err != nil {
			t.Fatal(err)
		}
		e.Payload = []byte(strings.Replace(string(e.Payload), m.Files[0].SHA256, sum([]byte("evil")), 1))
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		write(t, p, raw)
		_, err = release.Verify(dir, ringOf(t, key))
		if !errors.Is(err, seal.ErrBadSignature) || !strings.Contains(err.Error(), release.ManifestFile) {
			t.Fatalf("error %v, want ErrBadSignature naming %s", err, release.ManifestFile)
		}
	})

	t.Run("ErrNoManifest", func(t *testing.T) {
		dir, _ := writeRelease(t, key)
		os.Remove(filepath.Join(dir, release.ManifestFile))
		if _, err := release.Verify(dir, ringOf(t, key)); err == nil || !strings.Contains(err.Error(), release.ManifestFile) {
			t.Fatalf("error %v, want one naming %s", err, release.ManifestFile)
		}
	})
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestMatch(t *testing.T) {
	key := newKey(t)
	dir, _ := writeRelease(t, key)
	r, err := release.Verify(dir, ringOf(t, key))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Match(sum([]byte("the app's binary"))); !reflect.DeepEqual(got, []string{"tally_1.2.3_amd64.deb: usr/bin/tally"}) {
		t.Errorf("installed binary matches %v", got)
	}
	if got := r.Match(strings.ToUpper(sum(artifacts["tallyd-1.2.3-linux-amd64"]))); !reflect.DeepEqual(got, []string{"tallyd-1.2.3-linux-amd64"}) {
		t.Errorf("artifact matches %v", got)
	}
	if got := r.Match(sum([]byte("something else"))); len(got) != 0 {
		t.Errorf("an unknown file matches %v", got)
	}
}

func TestManifestCheck(t *testing.T) {
	good := func() *release.Manifest {
		return &release.Manifest{Product: "tally", Version: "1.0.0", Commit: "abc",
			Files: []release.File{{Name: "a.deb", Size: 1, SHA256: sum([]byte("a")),
				Installs: []release.Installed{{Path: "usr/bin/a", SHA256: sum([]byte("b"))}}}}}
	}
	if err := good().Check(); err != nil {
		t.Fatalf("a good manifest: %v", err)
	}
	cases := []struct {
		name   string
		change func(m *release.Manifest)
		want   string
	}{
		{"ErrProduct", func(m *release.Manifest) { m.Product = "" }, "product"},
		{"ErrVersion", func(m *release.Manifest) { m.Version = "" }, "version"},
		{"ErrCommit", func(m *release.Manifest) { m.Commit = "" }, "commit"},
		{"ErrEpoch", func(m *release.Manifest) { m.SourceDateEpoch = -1 }, "source_date_epoch"},
		{"ErrNoFiles", func(m *release.Manifest) { m.Files = nil }, "no files"},
		{"ErrPath", func(m *release.Manifest) { m.Files[0].Name = "../etc/passwd" }, "path separator"},
		{"ErrBackslash", func(m *release.Manifest) { m.Files[0].Name = `..\x.exe` }, "path separator"},
		{"ErrDot", func(m *release.Manifest) { m.Files[0].Name = ".." }, "starts with a dot"},
		{"ErrReserved", func(m *release.Manifest) { m.Files[0].Name = release.SumsFile }, "reserved"},
		{"ErrDuplicate", func(m *release.Manifest) { m.Files = append(m.Files, m.Files[0]) }, "listed twice"},
		{"ErrSize", func(m *release.Manifest) { m.Files[0].Size = -1 }, "size"},
		{"ErrHash", func(m *release.Manifest) { m.Files[0].SHA256 = strings.ToUpper(m.Files[0].SHA256) }, "sha256"},
		{"ErrShortHash", func(m *release.Manifest) { m.Files[0].SHA256 = "abc" }, "sha256"},
		{"ErrInstallPath", func(m *release.Manifest) { m.Files[0].Installs[0].Path = "" }, "installs[0]"},
		{"ErrInstallHash", func(m *release.Manifest) { m.Files[0].Installs[0].SHA256 = "x" }, "installs[0] usr/bin/a"},
		{"ErrCertHash", func(m *release.Manifest) { m.Files[0].Authenticode = &release.Signer{Subject: "CN=x"} }, "certificate_sha256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.change(m)
			err := m.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if _, err := release.Sign(m, newKey(t)); err == nil {
				t.Error("Sign signed a bad manifest")
			}
		})
	}
}

func TestOpen(t *testing.T) {
	key := newKey(t)
	m := &release.Manifest{Product: "tally", Version: "1.0.0", Commit: "abc",
		Files: []release.File{{Name: "b", SHA256: sum(nil)}, {Name: "a", SHA256: sum([]byte("a")), Size: 1}}}
	env, err := release.Sign(m, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := release.Open(env, ringOf(t, key))
	if err != nil {
		t.Fatal(err)
	}
	if got.Files[0].Name != "a" || got.Files[1].Name != "b" {
		t.Errorf("files %v, want them sorted by name", got.Files)
	}
	if m.Files[0].Name != "b" {
		t.Error("Sign reordered the caller's files")
	}

	t.Run("ErrPayloadType", func(t *testing.T) {
		raw, err := seal.Sign("application/vnd.tally.submission+json", []byte(`{"product":"tally"}`), key)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := release.Open(raw, ringOf(t, key)); !errors.Is(err, seal.ErrPayloadType) {
			t.Fatalf("error %v, want ErrPayloadType", err)
		}
	})
	t.Run("ErrUnknownField", func(t *testing.T) {
		raw, err := seal.Sign(release.PayloadType, []byte(`{"product":"tally","version":"1","commit":"c","files":[{"name":"a","size":0,"sha256":"`+sum(nil)+`"}],"extra":1}`), key)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := release.Open(raw, ringOf(t, key)); err == nil || !strings.Contains(err.Error(), "extra") {
			t.Fatalf("error %v, want one naming the unknown field", err)
		}
	})
}

func TestParseSums(t *testing.T) {
	a, b := sum([]byte("a")), sum([]byte("b"))
	got, err := release.ParseSums([]byte(a + "  one.deb\n" + b + " *two.exe\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]string{"one.deb": a, "two.exe": b}) {
		t.Errorf("parsed %v", got)
	}
	bad := []struct{ name, text, want string }{
		{"ErrShortHash", "abc  one.deb\n", "line 1"},
		{"ErrUpperHash", strings.ToUpper(a) + "  one.deb\n", "line 1"},
		{"ErrOneSpace", a + " one.deb\n", "line 1"},
		{"ErrPath", a + "  ../one.deb\n", "path separator"},
		{"ErrDuplicate", a + "  one.deb\n" + b + "  one.deb\n", "line 2: one.deb is listed twice"},
		{"ErrEmptyLine", a + "  one.deb\n\n", "line 2"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := release.ParseSums([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// What Sums writes, ParseSums reads.
	files := []release.File{{Name: "z", SHA256: a}, {Name: "y", SHA256: b}}
	if got, err := release.ParseSums(release.Sums(files)); err != nil || got["z"] != a || got["y"] != b {
		t.Errorf("round trip: %v, %v", got, err)
	}
}
