package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// appDB is a role's database as the app holds it, with the service over
// it: opened at the start when it exists, made by the provisioning when it
// does not. D is the store, S the role's service.
type appDB[D io.Closer, S any] struct {
	path  string
	role  string                                   // "station" or "supervisor", for messages
	open  func(context.Context, string) (D, error) // the store's Open
	serve func(D) S                                // the service over it

	mu     sync.Mutex
	opened bool
	db     D
	svc    S
}

// openExisting opens the database if there is one; a first run leaves
// nothing on disk until the laptop is provisioned.
func (r *appDB[D, S]) openExisting(ctx context.Context) error {
	switch _, err := os.Stat(r.path); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	db, err := r.open(ctx, r.path)
	if err != nil {
		return fmt.Errorf("%s database %s: %w", r.role, r.path, err)
	}
	r.db, r.svc, r.opened = db, r.serve(db), true
	return nil
}

func (r *appDB[D, S]) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opened {
		_ = r.db.Close()
	}
}

// service is the role's service; its zero value (nil) before the laptop
// is provisioned.
func (r *appDB[D, S]) service() S {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svc
}

// provision makes the database if there is none yet (and the directory it
// goes in, readable by its owner only) and runs provision on its service;
// a database made here is removed again when the provisioning fails, as
// `tally station init` and `tally supervisor init` do.
func (r *appDB[D, S]) provision(ctx context.Context, provision func(S) error) (S, D, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var (
		noDB  D
		noSvc S
	)
	created := false
	if !r.opened {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
			return noSvc, noDB, err
		}
		db, err := r.open(ctx, r.path)
		if err != nil {
			return noSvc, noDB, fmt.Errorf("%s database %s: %w", r.role, r.path, errors.Join(err, removeDatabase(r.path)))
		}
		r.db, r.svc, r.opened, created = db, r.serve(db), true, true
	}
	if err := provision(r.svc); err != nil {
		if created {
			err = errors.Join(err, r.db.Close(), removeDatabase(r.path))
			r.db, r.svc, r.opened = noDB, noSvc, false
		}
		return noSvc, noDB, err
	}
	return r.svc, r.db, nil
}
