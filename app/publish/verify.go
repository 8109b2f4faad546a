package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// A published tree is what `tallyd publish --out DIR` writes and what
// tallyd serves, under the same paths from its root:
//
//	v1/election                  the signed election definition
//	v1/keys                      the signed list of enrolled keys
//	v1/results/latest.json       the pointer to the latest snapshot
//	v1/results/N/...             every file of snapshot N (see Files)
//
// VerifyTree checks such a tree as any reader can, trusting nothing but
// the fingerprint of the commission's definition key.
const (
	TreeElectionPath = "v1/election"
	TreeKeysPath     = "v1/keys"
	TreeResultsDir   = "v1/results/"
)

// Fetch reads the file at a path of a published tree ("v1/keys",
// "v1/results/7/snapshot.json"). A file that is not there is an error that
// wraps fs.ErrNotExist.
type Fetch func(ctx context.Context, path string) ([]byte, error)

// VerifyOptions say what VerifyTree checks.
type VerifyOptions struct {
	// Fingerprint is the commission's definition key's, as printed
	// (any case, spaces or none). Required.
	Fingerprint string
	// From is the first snapshot checked; 1 when zero.
	From uint64
	// LatestOnly checks the latest snapshot alone; From must be zero.
	LatestOnly bool
	// List, when set, lists every file under a directory of the tree
	// ("v1/results/7/"), recursively, as paths from the root, so that a
	// file that is not one of the snapshot's is named. A source that
	// cannot list (HTTP) leaves it nil.
	List func(ctx context.Context, dir string) ([]string, error)
	// Progress, when set, is told about each snapshot once it is checked.
	Progress func(SnapshotReport)
}

// TreeReport is what VerifyTree checked.
type TreeReport struct {
	Election       string
	DefinitionKey  string // fingerprints of the definition's keys
	ReceiptKey     string
	PublicationKey string
	// StationKeys are the station keys the key list holds, revoked ones
	// included (each may have signed its station's earlier forms);
	// RevokedKeys how many of them are revoked, RevokedSigners how many
	// of those signed a form counted in a snapshot checked.
	StationKeys, RevokedKeys, RevokedSigners int
	Latest                                   uint64 // the number latest.json names
	LatestDigest                             string
	// FirstPrevious is the previous digest the first snapshot checked
	// names: not checked, as the snapshot before it was not ("" for
	// snapshot 1).
	FirstPrevious string
	Snapshots     []SnapshotReport
}

// Envelopes is the number of station envelopes verified, over every
// snapshot checked.
func (r *TreeReport) Envelopes() int {
	n := 0
	for _, s := range r.Snapshots {
		n += s.Envelopes
	}
	return n
}

// Files is the number of files compared, over every snapshot checked.
func (r *TreeReport) Files() int {
	n := 0
	for _, s := range r.Snapshots {
		n += s.Files
	}
	return n
}

// SnapshotReport is what was checked of one snapshot.
type SnapshotReport struct {
	Number    uint64
	Digest    string // seal.Digest of N/snapshot.json
	CreatedAt time.Time
	Stations  int // stations with at least one counted form
	Envelopes int // station envelopes verified: the counted forms
	// ByRevokedKeys counts the counted forms signed by a key revoked
	// since.
	ByRevokedKeys int
	Files         int  // files compared with what the snapshot gives, snapshot.json included
	Listed        bool // the directory was listed: it holds no other file
}

// VerifyError is the first thing wrong with a published tree: the file,
// by its path from the root, and what is wrong with it.
type VerifyError struct {
	Path string
	Err  error
}

func (e *VerifyError) Error() string {
	return "publish: " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "publish: ")
}

func (e *VerifyError) Unwrap() error { return e.Err }

// missing is a file that is not there; it wraps the source's error.
type missing struct{ err error }

func (m missing) Error() string { return "is missing" }
func (m missing) Unwrap() error { return m.err }

func fileErr(path string, format string, a ...any) error {
	return &VerifyError{Path: path, Err: fmt.Errorf(format, a...)}
}

// ResultsPath is the path from a tree's root of a file of the results
// ("7/summary.json", LatestPath).
func ResultsPath(p string) string { return TreeResultsDir + p }

// VerifyTree checks a published tree through fetch:
//
//  1. v1/election is a definition signed by the key whose fingerprint is
//     given;
//  2. v1/keys is a list of keys of the election, signed by the receipt
//     key the definition names; every station key it lists, revoked or
//     not, may have signed that station's forms;
//  3. latest.json names a snapshot by number and digest;
//  4. every snapshot from From (1) to that one verifies as Open says,
//     under the publication key the definition names, is the number of
//     its path, names the digest of the one before as its previous
//     (the first checked is not compared), and the latest has the digest
//     latest.json gives;
//  5. every file of each snapshot is there with the bytes Files derives
//     from it, and, with List, no other file is under its directory.
//
// The first thing wrong is the error, a *VerifyError naming the file.
func VerifyTree(ctx context.Context, fetch Fetch, o VerifyOptions) (*TreeReport, error) {
	if strings.TrimSpace(o.Fingerprint) == "" {
		return nil, errors.New("publish: the fingerprint of the commission's definition key is required")
	}
	if o.LatestOnly && o.From != 0 {
		return nil, errors.New("publish: check the latest snapshot alone, or from a number on, not both")
	}
	get := func(p string) ([]byte, error) {
		b, err := fetch(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, &VerifyError{Path: p, Err: missing{err}}
		case err != nil:
			return nil, &VerifyError{Path: p, Err: err}
		}
		return b, nil
	}

	// 1. The definition.
	raw, err := get(TreeElectionPath)
	if err != nil {
		return nil, err
	}
	def, err := election.OpenSigned(raw, election.Trust{})
	if err != nil {
		return nil, fileErr(TreeElectionPath, "not a signed election definition: %w", err)
	}
	defKey, err := seal.ParsePublicKey(def.Election.Keys.Definition)
	if err != nil {
		return nil, fileErr(TreeElectionPath, "the definition key: %w", err)
	}
	if !seal.MatchesFingerprint(o.Fingerprint, defKey.ID) {
		return nil, fileErr(TreeElectionPath, "signed by the key with fingerprint %s, not the %s given: these are not the commission's results",
			seal.Fingerprint(defKey.ID), strings.TrimSpace(o.Fingerprint))
	}
	receiptKey, err := seal.ParsePublicKey(def.Election.Keys.Receipt)
	if err != nil {
		return nil, fileErr(TreeElectionPath, "the receipt key: %w", err)
	}
	pubKey, err := seal.ParsePublicKey(def.Election.Keys.Publication)
	if err != nil {
		return nil, fileErr(TreeElectionPath, "the publication key: %w", err)
	}
	rep := &TreeReport{Election: def.Election.ID, DefinitionKey: seal.Fingerprint(defKey.ID),
		ReceiptKey: seal.Fingerprint(receiptKey.ID), PublicationKey: seal.Fingerprint(pubKey.ID)}

	// 2. The key list.
	if raw, err = get(TreeKeysPath); err != nil {
		return nil, err
	}
	receiptRing, err := seal.NewKeyring(receiptKey)
	if err != nil {
		return nil, fileErr(TreeElectionPath, "the receipt key: %w", err)
	}
	list, err := enrollment.OpenKeyList(raw, receiptRing, def.Election.ID)
	if err != nil {
		return nil, fileErr(TreeKeysPath, "%w", err)
	}
	keys := NewStationKeys()
	revoked := map[string]*seal.Keyring{} // by station: its revoked keys
	for i, k := range list.Keys {
		if k.Role != enrollment.RoleStation {
			continue
		}
		if _, ok := def.Station(k.Unit); !ok {
			return nil, fileErr(TreeKeysPath, "key %d (%s) is for station %q, which is not in election %s", i, k.ID, k.Unit, def.Election.ID)
		}
		pub, err := seal.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fileErr(TreeKeysPath, "key %d: %w", i, err)
		}
		if err := keys.Add(k.Unit, pub); err != nil {
			return nil, fileErr(TreeKeysPath, "key %d: %w", i, err)
		}
		rep.StationKeys++
		if k.RevokedAt != nil {
			rep.RevokedKeys++
			if revoked[k.Unit] == nil {
				if revoked[k.Unit], err = seal.NewKeyring(); err != nil {
					return nil, err
				}
			}
			if err := revoked[k.Unit].Add(pub); err != nil {
				return nil, fileErr(TreeKeysPath, "key %d: %w", i, err)
			}
		}
	}

	// 3. The pointer to the latest snapshot.
	latestPath := ResultsPath(LatestPath)
	if raw, err = get(latestPath); err != nil {
		return nil, err
	}
	latest, err := decodeLatest(raw)
	if err != nil {
		return nil, &VerifyError{Path: latestPath, Err: err}
	}
	rep.Latest, rep.LatestDigest = latest.Number, latest.Digest
	from := max(o.From, 1)
	if o.LatestOnly {
		from = latest.Number
	}
	if from > latest.Number {
		return nil, fileErr(latestPath, "the latest snapshot is %d: there is no snapshot %d to check from", latest.Number, from)
	}

	// 4 and 5. Every snapshot.
	usedRevoked := map[string]bool{}
	previous := ""
	for n := from; n <= latest.Number; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sr, err := verifySnapshot(ctx, get, o.List, def, pubKey, keys, revoked, usedRevoked, n, previous)
		if err != nil {
			return nil, err
		}
		if n == from {
			rep.FirstPrevious = sr.previous
		}
		if n == latest.Number && sr.Digest != latest.Digest {
			return nil, fileErr(latestPath, "names snapshot %d with digest %s, but %s has digest %s",
				n, latest.Digest, ResultsPath(SnapshotPath(n)), sr.Digest)
		}
		if n == latest.Number && !sr.CreatedAt.Equal(latest.CreatedAt) {
			return nil, fileErr(latestPath, "says snapshot %d was made at %s, the snapshot says %s",
				n, latest.CreatedAt.Format(time.RFC3339Nano), sr.CreatedAt.Format(time.RFC3339Nano))
		}
		previous = sr.Digest
		rep.Snapshots = append(rep.Snapshots, sr.SnapshotReport)
		if o.Progress != nil {
			o.Progress(sr.SnapshotReport)
		}
	}
	rep.RevokedSigners = len(usedRevoked)
	return rep, nil
}

// decodeLatest reads latest.json strictly.
func decodeLatest(raw []byte) (*Latest, error) {
	var l Latest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("not the pointer to the latest snapshot: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the document")
	}
	switch {
	case l.Format != LatestFormat:
		return nil, fmt.Errorf("format %q is not %q", l.Format, LatestFormat)
	case l.Number < 1:
		return nil, errors.New("names no snapshot: snapshots are numbered from 1")
	case election.CheckPhotoHash(l.Digest) != nil:
		return nil, fmt.Errorf("digest %q is not a SHA-256 digest", l.Digest)
	case l.Snapshot != SnapshotPath(l.Number):
		return nil, fmt.Errorf("snapshot %d is at %s, not %s", l.Number, SnapshotPath(l.Number), l.Snapshot)
	case l.Summary != SummaryPath(l.Number):
		return nil, fmt.Errorf("the summary of snapshot %d is at %s, not %s", l.Number, SummaryPath(l.Number), l.Summary)
	}
	return &l, nil
}

type checkedSnapshot struct {
	SnapshotReport
	previous string
}

// verifySnapshot checks snapshot n and its files; previous is the digest
// of snapshot n-1 when that was checked, else "".
func verifySnapshot(ctx context.Context, get func(string) ([]byte, error), list func(context.Context, string) ([]string, error),
	def *election.Definition, pubKey seal.PublicKey, keys *StationKeys, revoked map[string]*seal.Keyring,
	usedRevoked map[string]bool, n uint64, previous string) (*checkedSnapshot, error) {
	snapPath := ResultsPath(SnapshotPath(n))
	sealed, err := get(snapPath)
	if err != nil {
		return nil, err
	}
	s, err := Open(sealed, pubKey, def, keys)
	if err != nil {
		return nil, &VerifyError{Path: snapPath, Err: err}
	}
	if s.Number != n {
		return nil, fileErr(snapPath, "holds snapshot %d, not %d", s.Number, n)
	}
	if previous != "" && s.PreviousDigest != previous {
		return nil, fileErr(snapPath, "the chain is broken: snapshot %d names %s as the digest of snapshot %d, which is %s",
			n, s.PreviousDigest, n-1, previous)
	}
	r := &checkedSnapshot{SnapshotReport: SnapshotReport{Number: n, Digest: seal.Digest(sealed), CreatedAt: s.CreatedAt,
		Envelopes: len(s.Stations)}, previous: s.PreviousDigest}
	stations := map[string]bool{}
	for i := range s.Stations {
		e := &s.Stations[i]
		stations[e.Station] = true
		ring := revoked[e.Station]
		if ring == nil {
			continue
		}
		// Open verified the envelope already; this says whether a key
		// revoked since is among those whose signature verifies.
		if opened, err := seal.Open(e.Envelope, len(e.Envelope), election.SubmissionPayloadType, ring); err == nil {
			r.ByRevokedKeys++
			for _, id := range opened.SignedBy {
				usedRevoked[id] = true
			}
		}
	}
	r.Stations = len(stations)

	want, err := Files(def, s, sealed)
	if err != nil {
		return nil, &VerifyError{Path: snapPath, Err: err}
	}
	wanted := make(map[string]bool, len(want))
	for _, f := range want {
		p := ResultsPath(f.Path)
		wanted[p] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := sealed
		if p != snapPath {
			if b, err = get(p); err != nil {
				return nil, err
			}
		}
		if !bytes.Equal(b, f.Body) {
			return nil, fileErr(p, "is not what signed snapshot %d gives", n)
		}
		r.Files++
	}
	if list != nil {
		dir := TreeResultsDir + strconv.FormatUint(n, 10) + "/"
		got, err := list(ctx, dir)
		if err != nil {
			return nil, &VerifyError{Path: dir, Err: err}
		}
		for _, p := range got {
			if !wanted[p] {
				return nil, fileErr(p, "is not a file of snapshot %d", n)
			}
		}
		r.Listed = true
	}
	return r, nil
}
