package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"

	"tally/app/commission"
	"tally/app/publish"
	"tally/app/seal"
	"tally/cmd/internal/cli"
	"tally/server/resultspage"
)

// publishOut writes the published results as static files, under the same
// paths tallyd serves them at, for object storage or a CDN:
//
//	DIR/v1/election, DIR/v1/keys        what a reader checks the results with
//	DIR/v1/results/N/...                every file of snapshot N (publish.Files)
//	DIR/v1/results/latest.json          written last
//	DIR/results/...                     the results page
//
// It makes a new snapshot first when what is counted changed since the
// latest (as tallyd serve would), so that it is the same numbered,
// archived snapshot a server serves. A file already in DIR is left as it
// is when its bytes are the same and refused when they differ: a published
// number never names other bytes.
func publishOut(args []string, stdout io.Writer) error {
	fs := cli.Flags("publish")
	db := dbFlag(fs)
	out := fs.String("out", "", "the directory to write (required)")
	keys := fs.String("keys", "keys", "the directory holding the commission's publication.key and receipt.key")
	all := fs.Bool("all", false, "write every snapshot published so far, not only the latest")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("publish: --out is required")
	}
	pubKey, err := seal.ReadPrivateKeyFile(filepath.Join(*keys, "publication.key"))
	if err != nil {
		return fmt.Errorf("publish: the publication key: %w", err)
	}
	receiptKey, err := seal.ReadPrivateKeyFile(filepath.Join(*keys, "receipt.key"))
	if err != nil {
		return fmt.Errorf("publish: the receipt key (it signs the key list): %w", err)
	}
	ctx := context.Background()
	return withService(ctx, *db, commission.Options{ReceiptKey: receiptKey}, func(svc *commission.Service, _ commission.Store) error {
		def, err := svc.Definition(ctx)
		if err != nil {
			return err
		}
		p, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: pubKey,
			Source: publish.ServiceSource(svc), Archive: publish.ServiceArchive(svc), Retain: 1})
		if err != nil {
			return err
		}
		made, err := p.Publish(ctx)
		if err != nil {
			return err
		}
		latest, ok := p.Latest()
		if !ok {
			return errors.New("publish: nothing to publish: no election results have been received yet")
		}
		if made != nil {
			fmt.Fprintf(stdout, "made snapshot %d\n", made.Number)
		}
		w := &staticWriter{dir: *out}
		signed, err := svc.SignedElection(ctx)
		if err != nil {
			return err
		}
		keyList, err := svc.SignedKeyList(ctx)
		if err != nil {
			return err
		}
		if err := w.replace("v1/election", signed); err != nil {
			return err
		}
		if err := w.replace("v1/keys", keyList); err != nil {
			return err
		}
		first := latest.Number
		if *all {
			first = 1
		}
		for n := first; n <= latest.Number; n++ {
			snap, err := p.ByNumber(ctx, n)
			if err != nil {
				return fmt.Errorf("publish: snapshot %d: %w", n, err)
			}
			for _, f := range snap.Files {
				if err := w.once(filepath.Join("v1/results", f.Path), f.Body); err != nil {
					return err
				}
			}
		}
		err = iofs.WalkDir(resultspage.FS, ".", func(path string, d iofs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := iofs.ReadFile(resultspage.FS, path)
			if err != nil {
				return err
			}
			return w.replace(filepath.Join("results", path), b)
		})
		if err != nil {
			return err
		}
		lf, err := publish.LatestFile(latest)
		if err != nil {
			return err
		}
		if err := w.replace(filepath.Join("v1/results", lf.Path), lf.Body); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote snapshot %d (%s) and %d other files to %s; %d left as they were\n",
			latest.Number, latest.Digest, w.written, *out, w.same)
		return nil
	})
}

// staticWriter writes files under a directory, each through a temporary
// file renamed into place, so that a reader never sees half a file.
type staticWriter struct {
	dir           string
	written, same int
}

// once writes an immutable file: the same bytes again are left alone,
// others refused.
func (w *staticWriter) once(rel string, body []byte) error {
	path := filepath.Join(w.dir, rel)
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, body):
		w.same++
		return nil
	case err == nil:
		return fmt.Errorf("publish: %s holds other bytes than the published file: a published snapshot never changes; write to an empty directory", path)
	case !errors.Is(err, iofs.ErrNotExist):
		return err
	}
	return w.write(path, body)
}

// replace writes a file that may change: the pointer, the page, the key
// list.
func (w *staticWriter) replace(rel string, body []byte) error {
	path := filepath.Join(w.dir, rel)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, body) {
		w.same++
		return nil
	}
	return w.write(path, body)
}

func (w *staticWriter) write(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	w.written++
	return nil
}
