package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tally/app/publish"
	"tally/cmd/internal/cli"
	"tally/sync/client"
)

// verifyResultsRoots, when set, are the certificate authorities an https
// source is verified against instead of the system's (for tests).
var verifyResultsRoots *x509.CertPool

// maxRetries bounds the answers "busy, try again" (503, 429) to one
// request before the verification gives up.
const maxRetries = 3

// verifyResults is `tally verify-results DIR|URL --fingerprint FP [--from N
// | --latest] [--tls-pin PIN]... [--timeout D]`: it checks published
// results (publish.VerifyTree) in a directory `tallyd publish --out`
// wrote, or at the address of a server that serves them, and prints one
// line per snapshot.
func verifyResults(args []string, stdout io.Writer) error {
	flags := cli.Flags("verify-results")
	fingerprint := flags.String("fingerprint", "", "the fingerprint of the commission's definition key, as printed (required)")
	from := flags.Uint64("from", 0, "check the snapshots from this number on (default: all, from 1)")
	latest := flags.Bool("latest", false, "check the latest snapshot only")
	timeout := flags.Duration("timeout", 2*time.Minute, "for an address: the longest one file may take to download")
	var pins []string
	flags.Func("tls-pin", "for an https address: a pin of the server's key (sha256/…), as printed; give the backup pin too", func(v string) error {
		pins = append(pins, v)
		return nil
	})
	source, err := parseWithFile(flags, args, "directory or address (DIR or URL)")
	if err != nil {
		return err
	}
	if err := required("verify-results", "fingerprint", *fingerprint); err != nil {
		return err
	}
	if *latest && *from != 0 {
		return cli.Usagef("verify-results: give --from N or --latest, not both")
	}
	if *from == 0 && isFlagSet(flags, "from") {
		return cli.Usagef("verify-results: --from: snapshots are numbered from 1")
	}
	if *timeout <= 0 {
		return cli.Usagef("verify-results: --timeout must be positive")
	}

	var (
		fetch publish.Fetch
		list  func(context.Context, string) ([]string, error)
		where func(path string) string // a file's name for people
	)
	if isURL(source) {
		hs, err := newHTTPSource(source, pins, *timeout)
		if err != nil {
			return err
		}
		defer hs.close()
		fetch, where = hs.fetch, hs.name
	} else {
		if len(pins) > 0 {
			return cli.Usagef("verify-results: --tls-pin goes with an https address")
		}
		ds, err := newDirSource(source)
		if err != nil {
			return err
		}
		defer ds.close()
		fetch, list, where = ds.fetch, ds.list, ds.name
	}

	ctx := context.Background()
	printed := false
	rep, err := publish.VerifyTree(ctx, fetch, publish.VerifyOptions{
		Fingerprint: *fingerprint, From: *from, LatestOnly: *latest, List: list,
		Progress: func(r publish.SnapshotReport) {
			printed = true
			fmt.Fprintf(stdout, "snapshot %-4d %s  %s  %d stations, %d envelopes verified, %d files\n",
				r.Number, r.Digest, r.CreatedAt.UTC().Format(time.RFC3339), r.Stations, r.Envelopes, r.Files)
		},
	})
	if err != nil {
		if printed {
			fmt.Fprintln(stdout, "FAILED")
		}
		var ve *publish.VerifyError
		if errors.As(err, &ve) {
			return fmt.Errorf("verify-results: %s: %s", where(ve.Path), strings.TrimPrefix(ve.Err.Error(), "publish: "))
		}
		return fmt.Errorf("verify-results: %s", strings.TrimPrefix(err.Error(), "publish: "))
	}

	first, last := rep.Snapshots[0].Number, rep.Snapshots[len(rep.Snapshots)-1].Number
	fmt.Fprintf(stdout, "election      %s, definition key %s (the fingerprint given)\n", rep.Election, rep.DefinitionKey)
	fmt.Fprintf(stdout, "publication   key %s\n", rep.PublicationKey)
	fmt.Fprintf(stdout, "station keys  %d listed, %d revoked (%d of those signed counted forms)\n",
		rep.StationKeys, rep.RevokedKeys, rep.RevokedSigners)
	if first > 1 {
		fmt.Fprintf(stdout, "not checked   snapshot %d names %s as the digest of snapshot %d\n", first, rep.FirstPrevious, first-1)
	}
	if list == nil {
		fmt.Fprintln(stdout, "not checked   whether a snapshot's directory holds other files: an address cannot list them")
	}
	snapshots := "snapshot " + strconv.FormatUint(first, 10)
	if last != first {
		snapshots = fmt.Sprintf("snapshots %d to %d", first, last)
	}
	fmt.Fprintf(stdout, "ok: %s of %s: %d signatures of stations, every sum, %d files; the latest is %d, %s\n",
		snapshots, rep.Election, rep.Envelopes(), rep.Files(), rep.Latest, rep.LatestDigest)
	return nil
}

// isFlagSet reports whether the command line gave the flag.
func isFlagSet(flags *flag.FlagSet, name string) bool {
	set := false
	flags.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// dirSource reads a published tree from a directory: no path leaves it,
// through ".." or a link.
type dirSource struct {
	dir  string
	root *os.Root
}

func newDirSource(dir string) (*dirSource, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("verify-results: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("verify-results: %s is not a directory (give the directory `tallyd publish --out` wrote, or an address)", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("verify-results: %w", err)
	}
	return &dirSource{dir: dir, root: root}, nil
}

func (d *dirSource) close() { _ = d.root.Close() }

func (d *dirSource) name(p string) string { return filepath.Join(d.dir, filepath.FromSlash(p)) }

func (d *dirSource) fetch(_ context.Context, p string) ([]byte, error) {
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("%q is not a path inside the directory", p)
	}
	f, err := d.root.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return nil, fmt.Errorf("cannot be read inside the directory: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("is not a file")
	}
	return readBounded(f)
}

// list names every file under dir, recursively.
func (d *dirSource) list(_ context.Context, dir string) ([]string, error) {
	var out []string
	err := fs.WalkDir(d.root.FS(), strings.TrimSuffix(dir, "/"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// readBounded reads at most publish.MaxSnapshotSize bytes, the bound of
// any published file.
func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, publish.MaxSnapshotSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > publish.MaxSnapshotSize {
		return nil, fmt.Errorf("is larger than %d MB, more than any published file", publish.MaxSnapshotSize>>20)
	}
	return b, nil
}

// httpSource fetches a published tree from a server: tallyd, or the
// static host DIR was copied to.
type httpSource struct {
	base string // without a trailing slash
	hc   *http.Client
	tr   *http.Transport
}

func newHTTPSource(raw string, pins []string, timeout time.Duration) (*httpSource, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, cli.Usagef("verify-results: %q is not an address: %v", raw, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, cli.Usagef("verify-results: the address must be scheme://host[:port][/path], without user, query or fragment")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: verifyResultsRoots}
	if len(pins) > 0 {
		if u.Scheme != "https" {
			return nil, cli.Usagef("verify-results: --tls-pin goes with an https address")
		}
		want := map[string]bool{}
		for _, p := range pins {
			b64, ok := strings.CutPrefix(p, "sha256/")
			raw, err := base64.StdEncoding.Strict().DecodeString(b64)
			if !ok || err != nil || len(raw) != sha256.Size {
				return nil, cli.Usagef("verify-results: the pin %q is not sha256/ and the base64 of a SHA-256 digest", p)
			}
			want[p] = true
		}
		host := u.Host
		// The usual verification against the roots, then the pin.
		tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the server at %s showed no certificate", host)
			}
			if got := client.Pin(cs.PeerCertificates[0]); !want[got] {
				return fmt.Errorf("the server at %s showed a key whose pin is %s, not one given with --tls-pin", host, got)
			}
			return nil
		}
	}
	return &httpSource{base: strings.TrimRight(u.String(), "/"), tr: tr,
		hc: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

func (h *httpSource) close() { h.tr.CloseIdleConnections() }

func (h *httpSource) name(p string) string { return h.base + "/" + p }

func (h *httpSource) fetch(ctx context.Context, p string) ([]byte, error) {
	for try := 0; ; try++ {
		b, wait, err := h.get(ctx, p)
		if wait == 0 || try == maxRetries {
			return b, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// get fetches one file; a wait above zero asks to try again after it.
func (h *httpSource) get(ctx context.Context, p string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.name(p), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", "tally/"+version)
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		b, err := readBounded(resp.Body)
		return b, 0, err
	case http.StatusNotFound:
		return nil, 0, fmt.Errorf("%s: %w", resp.Status, fs.ErrNotExist)
	case http.StatusGone:
		return nil, 0, fmt.Errorf("the server answered %s: it no longer keeps this file (check --from a later snapshot, or where all are kept)", resp.Status)
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = min(time.Duration(s)*time.Second, 30*time.Second)
		}
		return nil, wait, fmt.Errorf("the server answered %s", resp.Status)
	}
	return nil, 0, fmt.Errorf("the server answered %s", resp.Status)
}
