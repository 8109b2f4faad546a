package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// writeFileAtomic writes data to path so that after a crash or power cut
// the path holds either its old content (or nothing) or all of data, never
// a part: the data goes to a temporary file in the same directory, is
// flushed to disk, and only then takes the final name, after which the
// directory is flushed too so that the name itself survives.
//
// With replace false an existing file is never overwritten: the temporary
// file is hard-linked to path, which fails atomically if path exists.
func writeFileAtomic(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	if !replace {
		// Fail early with a clear message; the link below is what makes
		// the refusal race-free.
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists; refusing to overwrite it: %w", path, fs.ErrExist)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		err = os.Link(tmpName, path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite it: %w", path, fs.ErrExist)
		}
		if err == nil {
			// The data lives on under path; a leftover temporary name
			// would only be clutter.
			os.Remove(tmpName)
		}
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a directory so that a rename or link in it is durable.
// Windows cannot open a directory for flushing, and NTFS journals the
// rename itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
