package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"tally/cmd/internal/cli"
	"tally/i18n"
	"tally/ui/printout"
)

// printResult is what `station print --json` prints.
type printResult struct {
	File     string `json:"file"`
	Form     string `json:"form"`
	Version  int    `json:"version"`
	Digest   string `json:"digest"`
	Language string `json:"language"`
	// Receipt is the commission's receipt number, 0 while none has come.
	Receipt  uint64 `json:"receipt,omitempty"`
	Received bool   `json:"received"`
	Size     int    `json:"size"`
	SHA256   string `json:"sha256"`
}

func stationPrint(args []string, s *streams) error {
	fs := cli.Flags("station print")
	c := commonFlags(fs)
	ff := addFormFlags(fs)
	version := fs.Int("version", 0, "the sealed version to print (default: the last one)")
	out := fs.String("out", "", "the PDF file to write; it must not exist yet")
	lang := fs.String("lang", i18n.Default, "the language of the printout: "+languageTags())
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	key, err := ff.key("station print")
	if err != nil {
		return err
	}
	if err := required("station print", "out", *out); err != nil {
		return err
	}
	if *version < 0 {
		return cli.Usagef("station print: --version %d is not a version number (1, 2, …; 0 or none for the last)", *version)
	}
	l, err := i18n.New(*lang)
	if err != nil {
		return cli.Usagef("station print: --lang %q is not a language of the app (want: %s)", *lang, languageTags())
	}
	if err := refuseExisting(*out); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		sheet, err := printout.Load(ctx, sdb.svc, sdb.db, key, *version)
		if err != nil {
			return err
		}
		sheet.Location = time.Local
		var pdf bytes.Buffer
		if err := printout.Render(&pdf, sheet, l); err != nil {
			return fmt.Errorf("%s version %d: %w", key, sheet.Version.Version, err)
		}
		if err := writeNewFile(*out, pdf.Bytes()); err != nil {
			return err
		}
		sum := sha256.Sum256(pdf.Bytes())
		res := printResult{File: *out, Form: key.String(), Version: sheet.Version.Version, Digest: sheet.Version.Digest,
			Language: l.Tag(), Received: sheet.Receipt != nil, Size: pdf.Len(), SHA256: hex.EncodeToString(sum[:])}
		if sheet.Receipt != nil {
			res.Receipt = sheet.Receipt.Number
		}
		if *c.asJSON {
			return printJSON(s.stdout, res)
		}
		w := s.stdout
		fmt.Fprintf(w, "printed         %s version %d, in %s, to %s\n", res.Form, res.Version, res.Language, res.File)
		fmt.Fprintf(w, "digest          %s\n", res.Digest)
		if r := sheet.Receipt; r != nil {
			fmt.Fprintf(w, "receipt         number %d, received by the commission %s\n", r.Number, localTime(r.ReceivedAt))
		} else {
			fmt.Fprintln(w, "receipt         not yet received by the commission (the printout says so)")
		}
		return nil
	})
}

// languageTags lists the languages of the app for a message.
func languageTags() string {
	var tags []string
	for _, lang := range i18n.Languages() {
		tags = append(tags, lang.Tag)
	}
	return strings.Join(tags, ", ")
}

// refuseExisting refuses to print over a file that is there: a mistyped
// --out must not destroy anything.
func refuseExisting(path string) error {
	switch _, err := os.Lstat(path); {
	case err == nil:
		return fmt.Errorf("%s exists: printing never overwrites a file; give a new file name", path)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// writeNewFile creates the file, which must not exist, with the data and
// flushes it to the disk; a file that could not be written whole is
// removed again.
func writeNewFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: printing never overwrites a file; give a new file name", path)
	} else if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}
