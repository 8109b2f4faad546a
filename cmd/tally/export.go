package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"tally/cmd/internal/cli"
)

// exportResult is what `export --json` prints.
type exportResult struct {
	Dir       string `json:"dir"`
	Files     int    `json:"files"`
	AuditHead string `json:"audit_head"`
	Election  string `json:"election"`
	Station   string `json:"station"`
}

func exportCommand(args []string, s *streams) error {
	fs := cli.Flags("export")
	c := commonFlags(fs)
	out := fs.String("out", "", "the directory to write the export into: new, or empty")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := required("export", "out", *out); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) (err error) {
		w, err := newDirWriter(*out)
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				if uerr := w.undo(); uerr != nil {
					err = errors.Join(err, fmt.Errorf("removing the partial export: %w", uerr))
				}
			}
		}()
		m, err := sdb.svc.Export(ctx, w)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := w.finish(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		res := exportResult{Dir: *out, Files: w.files, AuditHead: m.AuditHead, Election: m.Election, Station: m.Station}
		if *c.asJSON {
			return printJSON(s.stdout, res)
		}
		fmt.Fprintf(s.stdout, "exported        %d files to %s\n", res.Files, res.Dir)
		fmt.Fprintf(s.stdout, "audit head      %s\n", res.AuditHead)
		return nil
	})
}

// dirWriter writes the files of an export under a directory that it
// creates, or that is empty: an export never overwrites anything. Each
// file is created (never replaced) readable by its owner only, and synced;
// finish syncs the directories. undo removes what it made, for an export
// that failed half way.
type dirWriter struct {
	root    string
	made    []string        // files and directories made, in order
	dirs    map[string]bool // directories to sync
	files   int
	rootNew bool
}

func newDirWriter(root string) (*dirWriter, error) {
	w := &dirWriter{root: root, dirs: map[string]bool{root: true}}
	switch fi, err := os.Stat(root); {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(root)
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return nil, err
		}
		if err := os.Mkdir(root, 0o700); err != nil {
			return nil, err
		}
		w.made = append(w.made, root)
		w.dirs[parent] = true
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%s exists and is not a directory", root)
	default:
		entries, err := os.ReadDir(root)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("%s is not empty: an export never overwrites; give a new or empty directory", root)
		}
	}
	return w, nil
}

// WriteFile writes one file of the export under its slash-separated name.
func (w *dirWriter) WriteFile(name string, data []byte) (err error) {
	if name == "" || strings.Contains(name, `\`) || path.Clean(name) != name || !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("export file name %q is not a plain relative name", name)
	}
	full := filepath.Join(w.root, filepath.FromSlash(name))
	if err := w.mkdirs(filepath.Dir(full)); err != nil {
		return err
	}
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w.made = append(w.made, full)
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	w.files++
	w.dirs[filepath.Dir(full)] = true
	return nil
}

// mkdirs makes the directories between the root and dir.
func (w *dirWriter) mkdirs(dir string) error {
	rel, err := filepath.Rel(w.root, dir)
	if err != nil {
		return err
	}
	if rel == "." {
		return nil
	}
	cur := w.root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, part)
		switch err := os.Mkdir(cur, 0o700); {
		case err == nil:
			w.made = append(w.made, cur)
			w.dirs[parent] = true
		case errors.Is(err, fs.ErrExist):
			if fi, err := os.Lstat(cur); err != nil || !fi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", cur)
			}
		default:
			return err
		}
	}
	return nil
}

// finish makes the new names durable.
func (w *dirWriter) finish() error {
	if runtime.GOOS == "windows" {
		return nil // a directory cannot be opened for syncing there
	}
	dirs := make([]string, 0, len(w.dirs))
	for d := range w.dirs {
		dirs = append(dirs, d)
	}
	// Deepest first, so that a directory is synced after what it holds.
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	for _, dir := range dirs {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("syncing %s: %w", dir, err)
		}
	}
	return nil
}

// undo removes everything the writer made, newest first.
func (w *dirWriter) undo() error {
	var errs []error
	for i := len(w.made) - 1; i >= 0; i-- {
		if err := os.Remove(w.made[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
