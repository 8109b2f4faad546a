// Command mkrelease does the steps of the release build that need Go:
// the release key, the Windows icon, and the signed manifest of the files
// built. scripts/release/build.sh calls it; see `mkrelease -h`.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/image/draw"

	"tally/app/release"
	"tally/app/seal"
)

const usage = `mkrelease — steps of the release build

Usage:
  mkrelease key --out FILE
        make a release key: FILE (private, mode 0600) and FILE.pub
  mkrelease icon --in PNG --out ICO
        make a Windows icon (256, 128, 64, 48, 32 and 16 pixels) from a PNG
  mkrelease manifest --dir DIR --key FILE --product P --version V --commit C
                     --epoch N --toolchain T [--modified] [--installs NAME=TREE]...
        write SHA256SUMS, the signed manifest release.dsse.json and the public
        key release.pub for every file in DIR; --installs names the tree of
        files that artifact NAME installs (its DEBIAN directory left out)
`

func main() {
	err := dispatch(os.Args[1:], os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		fmt.Print(usage)
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "mkrelease: %v\n\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "mkrelease: %v\n", err)
		os.Exit(1)
	}
}

// errUsage marks a command line that cannot be understood.
var errUsage = errors.New("usage")

func usagef(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// flags makes a flag set that reports errors instead of exiting.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses a command's flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	switch args[0] {
	case "key":
		return keyCommand(args[1:], stdout)
	case "icon":
		return iconCommand(args[1:])
	case "manifest":
		return manifestCommand(args[1:], stdout)
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", args[0])
}

func keyCommand(args []string, stdout io.Writer) error {
	fs := flags("key")
	out := fs.String("out", "", "the private key file to write (required; never overwritten)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("key: --out is required")
	}
	key, err := seal.GenerateKey(nil)
	if err != nil {
		return err
	}
	if err := seal.WritePrivateKeyFile(*out, key); err != nil {
		return err
	}
	if err := seal.WritePublicKeyFile(*out+".pub", key.Public()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release key %s, fingerprint %s\n", *out, seal.Fingerprint(key.ID()))
	return nil
}

// iconSizes are the images of the Windows icon, largest first.
var iconSizes = []int{256, 128, 64, 48, 32, 16}

func iconCommand(args []string) error {
	fs := flags("icon")
	in := fs.String("in", "", "the PNG image, square (required)")
	out := fs.String("out", "", "the .ico file to write (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usagef("icon: --in and --out are required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("icon: %s: %w", *in, err)
	}
	ico, err := encodeICO(src, iconSizes)
	if err != nil {
		return fmt.Errorf("icon: %s: %w", *in, err)
	}
	return os.WriteFile(*out, ico, 0o644)
}

// encodeICO makes an .ico file holding the image scaled to each size, each
// stored as PNG (which Windows reads in icons since Vista). The output
// depends on the input only.
func encodeICO(src image.Image, sizes []int) ([]byte, error) {
	b := src.Bounds()
	if b.Dx() != b.Dy() {
		return nil, fmt.Errorf("the image is %dx%d, not square", b.Dx(), b.Dy())
	}
	if b.Dx() < sizes[0] {
		return nil, fmt.Errorf("the image is %d pixels wide, smaller than the largest icon (%d)", b.Dx(), sizes[0])
	}
	images := make([][]byte, len(sizes))
	for i, size := range sizes {
		dst := image.NewNRGBA(image.Rect(0, 0, size, size))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, dst); err != nil {
			return nil, err
		}
		images[i] = buf.Bytes()
	}
	// ICONDIR, then one ICONDIRENTRY per image, then the images.
	var out bytes.Buffer
	le16 := func(v int) { out.Write([]byte{byte(v), byte(v >> 8)}) }
	le32 := func(v int) { out.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le16(0) // reserved
	le16(1) // type: icon
	le16(len(sizes))
	offset := 6 + 16*len(sizes)
	for i, size := range sizes {
		dim := size
		if dim >= 256 {
			dim = 0 // 0 means 256
		}
		out.WriteByte(byte(dim)) // width
		out.WriteByte(byte(dim)) // height
		out.WriteByte(0)         // palette colours
		out.WriteByte(0)         // reserved
		le16(1)                  // colour planes
		le16(32)                 // bits per pixel
		le32(len(images[i]))
		le32(offset)
		offset += len(images[i])
	}
	for _, img := range images {
		out.Write(img)
	}
	return out.Bytes(), nil
}

// installsFlag collects --installs NAME=TREE.
type installsFlag map[string]string

func (f installsFlag) String() string { return "" }

func (f installsFlag) Set(v string) error {
	name, tree, ok := strings.Cut(v, "=")
	if !ok || name == "" || tree == "" {
		return fmt.Errorf("%q is not NAME=TREE", v)
	}
	if _, dup := f[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	f[name] = tree
	return nil
}

func manifestCommand(args []string, stdout io.Writer) error {
	fs := flags("manifest")
	dir := fs.String("dir", "", "the release directory (required)")
	keyFile := fs.String("key", "", "the release private key file (required)")
	m := release.Manifest{}
	fs.StringVar(&m.Product, "product", "", "the product's name (required)")
	fs.StringVar(&m.Version, "version", "", "the version (required)")
	fs.StringVar(&m.Commit, "commit", "", "the source commit (required)")
	fs.BoolVar(&m.Modified, "modified", false, "the working tree had changes not in the commit")
	fs.Int64Var(&m.SourceDateEpoch, "epoch", -1, "SOURCE_DATE_EPOCH (required)")
	fs.StringVar(&m.Toolchain, "toolchain", "", "the Go toolchain that built the release (required)")
	installs := installsFlag{}
	fs.Var(installs, "installs", "NAME=TREE: the files that artifact NAME installs (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *keyFile == "" || m.Toolchain == "" {
		return usagef("manifest: --dir, --key and --toolchain are required")
	}
	key, err := seal.ReadPrivateKeyFile(*keyFile)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("manifest: %s is not a regular file", filepath.Join(*dir, e.Name()))
		}
		if err := release.CheckName(e.Name()); err != nil {
			return fmt.Errorf("manifest: %s: %w", *dir, err)
		}
		f, err := describe(filepath.Join(*dir, e.Name()))
		if err != nil {
			return err
		}
		if tree, ok := installs[f.Name]; ok {
			if f.Installs, err = treeFiles(tree); err != nil {
				return fmt.Errorf("manifest: --installs %s: %w", f.Name, err)
			}
			delete(installs, f.Name)
		}
		m.Files = append(m.Files, f)
	}
	if len(installs) > 0 {
		names := make([]string, 0, len(installs))
		for name := range installs {
			names = append(names, name)
		}
		sort.Strings(names)
		return fmt.Errorf("manifest: --installs %s: no such file in %s", strings.Join(names, ", "), *dir)
	}
	env, err := release.Sign(&m, key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, release.SumsFile), release.Sums(m.Files), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, release.ManifestFile), env, 0o644); err != nil {
		return err
	}
	if err := seal.WritePublicKeyFile(filepath.Join(*dir, release.KeyFile), key.Public()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed the manifest of %d files with release key %s\n", len(m.Files), seal.Fingerprint(key.ID()))
	return nil
}

// describe hashes an artifact and, for a Windows executable, reads who
// signed it.
func describe(path string) (release.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return release.File{}, err
	}
	f := release.File{Name: filepath.Base(path), Size: int64(len(data)), SHA256: sha256Hex(data)}
	if strings.HasSuffix(f.Name, ".exe") {
		signer, err := release.Authenticode(data)
		switch {
		case errors.Is(err, release.ErrUnsigned):
		case err != nil:
			return f, fmt.Errorf("manifest: %s: authenticode: %w", f.Name, err)
		default:
			f.Authenticode = signer
		}
	}
	return f, nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// treeFiles lists the regular files under root (its DEBIAN directory left
// out) with their hashes, by path relative to root.
func treeFiles(root string) ([]release.Installed, error) {
	var out []release.Installed
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() && rel == "DEBIAN" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		sum, err := release.HashFile(path)
		if err != nil {
			return err
		}
		out = append(out, release.Installed{Path: filepath.ToSlash(rel), SHA256: sum})
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("no files")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}
