package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"tally/app/release"
	"tally/app/seal"
	"tally/cmd/internal/cli"
)

// releaseCheck is what `verify-release --json` prints.
type releaseCheck struct {
	Version   string          `json:"version"`
	Commit    string          `json:"commit"`
	Modified  bool            `json:"modified"`
	SignedBy  []string        `json:"signed_by"`
	OK        bool            `json:"ok"`
	Files     []releaseFile   `json:"files"`
	Installed []installedFile `json:"installed,omitempty"`
}

type releaseFile struct {
	Name         string          `json:"name"`
	OK           bool            `json:"ok"`
	Problem      string          `json:"problem,omitempty"`
	Authenticode *release.Signer `json:"authenticode,omitempty"`
}

type installedFile struct {
	Path    string   `json:"path"`
	SHA256  string   `json:"sha256"`
	Matches []string `json:"matches"`
}

// verifyRelease checks a release directory against its signed manifest:
// `tally verify-release DIR (--key FILE | --fingerprint FP) [--json] [FILE...]`.
// The FILEs after the flags are installed files (tally.exe, /usr/bin/tallyd)
// to find among those the release installs.
func verifyRelease(args []string, stdout io.Writer) error {
	fs := cli.Flags("verify-release")
	keyFile := fs.String("key", "", "the release public key file to trust")
	fingerprint := fs.String("fingerprint", "", "the published fingerprint of the release key (checked against DIR/"+release.KeyFile+")")
	asJSON := fs.Bool("json", false, "print JSON")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return cli.Usagef("verify-release: the release DIR comes first")
	}
	dir := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.Usagef("verify-release: %v", err)
	}
	installed := fs.Args()
	if (*keyFile == "") == (*fingerprint == "") {
		return cli.Usagef("verify-release: give the release key: --key FILE or --fingerprint FP (one of them)")
	}
	var pub seal.PublicKey
	var err error
	if *keyFile != "" {
		if pub, err = seal.ReadPublicKeyFile(*keyFile); err != nil {
			return err
		}
	} else {
		if pub, err = seal.ReadPublicKeyFile(filepath.Join(dir, release.KeyFile)); err != nil {
			return err
		}
		if !seal.MatchesFingerprint(*fingerprint, pub.ID) {
			return fmt.Errorf("verify-release: %s has fingerprint %s, not the %s given: this release was not signed with the key you trust",
				filepath.Join(dir, release.KeyFile), seal.Fingerprint(pub.ID), strings.TrimSpace(*fingerprint))
		}
	}
	ring, err := seal.NewKeyring(pub)
	if err != nil {
		return err
	}
	report, verr := release.Verify(dir, ring)
	if report == nil {
		return verr
	}
	out := releaseCheck{Version: report.Manifest.Version, Commit: report.Manifest.Commit,
		Modified: report.Manifest.Modified, SignedBy: report.SignedBy, OK: verr == nil}
	for _, c := range report.Files {
		out.Files = append(out.Files, releaseFile{Name: c.Name, OK: c.Problem == "", Problem: c.Problem, Authenticode: c.Authenticode})
	}
	var unknown []string
	for _, path := range installed {
		sum, err := release.HashFile(path)
		if err != nil {
			return err
		}
		matches := report.Match(sum)
		if len(matches) == 0 {
			unknown = append(unknown, path)
		}
		out.Installed = append(out.Installed, installedFile{Path: path, SHA256: sum, Matches: matches})
	}
	out.OK = out.OK && len(unknown) == 0
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printReleaseCheck(stdout, report, out)
	}
	if verr != nil {
		return verr
	}
	if len(unknown) > 0 {
		return fmt.Errorf("verify-release: no file of release %s has the content of %s", report.Manifest.Version, strings.Join(unknown, ", "))
	}
	return nil
}

func printReleaseCheck(w io.Writer, r *release.Report, out releaseCheck) {
	m := r.Manifest
	state := ""
	if m.Modified {
		state = ", with changes not committed"
	}
	fmt.Fprintf(w, "release %s of %s, commit %s%s, source date %s\n", m.Version, m.Product, m.Commit, state,
		time.Unix(m.SourceDateEpoch, 0).UTC().Format(time.RFC3339))
	for _, id := range r.SignedBy {
		fmt.Fprintf(w, "signed by release key %s\n", seal.Fingerprint(id))
	}
	for _, f := range out.Files {
		switch {
		case f.Problem != "":
			fmt.Fprintf(w, "FAILED  %s: %s\n", f.Name, f.Problem)
		case f.Authenticode != nil:
			fmt.Fprintf(w, "ok      %s (Authenticode: %s, certificate %s…)\n", f.Name, f.Authenticode.Subject, f.Authenticode.CertSHA256[:16])
		default:
			fmt.Fprintf(w, "ok      %s\n", f.Name)
		}
	}
	for _, in := range out.Installed {
		if len(in.Matches) == 0 {
			fmt.Fprintf(w, "FAILED  %s: not a file of this release (sha256 %s)\n", in.Path, in.SHA256)
		} else {
			fmt.Fprintf(w, "ok      %s is %s\n", in.Path, strings.Join(in.Matches, ", "))
		}
	}
}
