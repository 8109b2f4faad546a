package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/app/release"
	"tally/app/seal"
)

func square(size int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 200, A: 255})
		}
	}
	return img
}

func TestEncodeICO(t *testing.T) {
	// A few of the sizes keep the test quick; 256 is written as 0.
	sizes := []int{256, 48, 16}
	src := square(256)
	ico, err := encodeICO(src, sizes)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := encodeICO(src, sizes)
	if !bytes.Equal(ico, again) {
		t.Error("two icons of the same image differ")
	}
	if binary.LittleEndian.Uint16(ico[2:]) != 1 || int(binary.LittleEndian.Uint16(ico[4:])) != len(sizes) {
		t.Fatalf("header % x: want an icon of %d images", ico[:6], len(sizes))
	}
	for i, size := range sizes {
		e := ico[6+16*i:]
		length, offset := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
		img, err := png.Decode(bytes.NewReader(ico[offset : offset+length]))
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if img.Bounds().Dx() != size || img.Bounds().Dy() != size {
			t.Errorf("image %d is %v, want %dx%d", i, img.Bounds(), size, size)
		}
		if want := byte(size % 256); e[0] != want || e[1] != want {
			t.Errorf("image %d: entry says %dx%d, want %d (0 for 256)", i, e[0], e[1], want)
		}
	}

	t.Run("ErrNotSquare", func(t *testing.T) {
		_, err := encodeICO(image.NewNRGBA(image.Rect(0, 0, 300, 200)), sizes)
		if err == nil || !strings.Contains(err.Error(), "not square") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ErrTooSmall", func(t *testing.T) {
		_, err := encodeICO(square(100), sizes)
		if err == nil || !strings.Contains(err.Error(), "smaller than the largest icon") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestManifestCommand(t *testing.T) {
	tmp := t.TempDir()
	keyFile := filepath.Join(tmp, "release.key")
	if err := dispatch([]string{"key", "--out", keyFile}, io.Discard); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "out")
	tree := filepath.Join(tmp, "tree")
	for path, data := range map[string]string{
		filepath.Join(dir, "tallyd_1.0.0_amd64.deb"):       "package",
		filepath.Join(dir, "tallyd-1.0.0-linux-amd64"):     "binary",
		filepath.Join(tree, "usr", "bin", "tallyd"):        "binary",
		filepath.Join(tree, "DEBIAN", "control"):           "Package: tallyd",
		filepath.Join(tree, "etc", "tally", "tallyd.conf"): "TALLYD_DB=x",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"manifest", "--dir", dir, "--key", keyFile, "--product", "tally", "--version", "1.0.0",
		"--commit", "0123abc", "--epoch", "1767225600", "--toolchain", "go1.26.8"}
	if err := dispatch(append(args, "--installs", "tallyd_1.0.0_amd64.deb="+tree), io.Discard); err != nil {
		t.Fatal(err)
	}
	pub, err := seal.ReadPublicKeyFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := seal.NewKeyring(pub)
	r, err := release.Verify(dir, ring)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Match(sha256Hex([]byte("binary"))); len(got) != 2 || got[1] != "tallyd_1.0.0_amd64.deb: usr/bin/tallyd" {
		t.Errorf("the binary matches %v, want the artifact and the packaged file", got)
	}
	for _, f := range r.Manifest.Files {
		for _, in := range f.Installs {
			if strings.HasPrefix(in.Path, "DEBIAN") {
				t.Errorf("the control file %s is listed as installed", in.Path)
			}
		}
	}

	t.Run("ErrInstallsUnknown", func(t *testing.T) {
		dir2 := t.TempDir()
		os.WriteFile(filepath.Join(dir2, "a.deb"), []byte("x"), 0o644)
		a := append([]string(nil), args...)
		a[2] = dir2
		err := dispatch(append(a, "--installs", "b.deb="+tree), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "b.deb: no such file") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ErrNoEpoch", func(t *testing.T) {
		dir2 := t.TempDir()
		os.WriteFile(filepath.Join(dir2, "a.deb"), []byte("x"), 0o644)
		a := append([]string(nil), args[:len(args)-4]...)
		a[2] = dir2
		err := dispatch(append(a, "--toolchain", "go1.26.8"), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "source_date_epoch") {
			t.Fatalf("error %v", err)
		}
	})
}
