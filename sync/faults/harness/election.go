// Package harness sets up what the fault tests run against: a demo
// election with seeded keys, a real `tallyd serve` process started from
// it, real stations on their own SQLite files provisioned with it, and
// the checks that hold a station's record against what the commission
// stored.
package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/seal"
)

// Election is a demo election whose commission keys and enrollment codes
// all come from one seed, signed for the servers given.
type Election struct {
	Def    *election.Definition
	Signed []byte
	// Definition, Receipt and Publication are the commission's keys.
	Definition, Receipt, Publication *seal.PrivateKey
	// Codes are the stations' one-time enrollment codes, by station.
	Codes map[string]string
}

// ElectionOptions say which election to make.
type ElectionOptions struct {
	Kind    election.Kind // election.Municipal when empty: a station fills two forms
	Seed    uint64
	Servers []election.Server
	// Municipalities keeps the first n municipalities and what is in
	// them (0: all 38).
	Municipalities int
}

// SeedKey is the key named label of a seed.
func SeedKey(seed uint64, label string) *seal.PrivateKey {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	sum := sha256.Sum256(append(b[:], "tally-faults/"+label...))
	k, err := seal.PrivateKeyFromSeed(sum[:])
	if err != nil {
		panic(err) // 32 bytes always make a key
	}
	return k
}

// NewElection makes the election.
func NewElection(o ElectionOptions) (*Election, error) {
	if o.Kind == "" {
		o.Kind = election.Municipal
	}
	if len(o.Servers) == 0 {
		return nil, errors.New("harness: the election needs the server's URL")
	}
	e := &Election{
		Definition:  SeedKey(o.Seed, "commission/definition"),
		Receipt:     SeedKey(o.Seed, "commission/receipt"),
		Publication: SeedKey(o.Seed, "commission/publication"),
		Codes:       map[string]string{},
	}
	d, err := election.Demo(election.DemoOptions{Seed: o.Seed, Kind: o.Kind, Servers: o.Servers, Keys: election.Keys{
		Definition:  seal.EncodePublicKey(e.Definition.Public()),
		Receipt:     seal.EncodePublicKey(e.Receipt.Public()),
		Publication: seal.EncodePublicKey(e.Publication.Public()),
	}})
	if err != nil {
		return nil, err
	}
	if o.Municipalities > 0 && o.Municipalities < len(d.Municipalities) {
		trim(d, o.Municipalities)
	}
	if e.Signed, err = election.Sign(d, e.Definition); err != nil {
		return nil, err
	}
	// Read back as a station reads it, so that its lookups see the
	// trimmed lists.
	if e.Def, err = election.OpenSigned(e.Signed, election.Trust{}); err != nil {
		return nil, err
	}
	for _, st := range e.Def.Stations {
		sum := sha256.Sum256([]byte("code/" + st.Code))
		if e.Codes[st.Code], err = enrollment.NewCode(bytes.NewReader(sum[:])); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// trim keeps the first n municipalities and their voting centres,
// stations and contests.
func trim(d *election.Definition, n int) {
	keep := map[string]bool{}
	for _, m := range d.Municipalities[:n] {
		keep[m.Code] = true
	}
	d.Municipalities = d.Municipalities[:n]
	d.VotingCentres = keepIf(d.VotingCentres, func(v election.VotingCentre) bool { return keep[v.Municipality] })
	d.Stations = keepIf(d.Stations, func(s election.Station) bool { return keep[s.Municipality] })
	d.Contests = keepIf(d.Contests, func(c election.Contest) bool { return c.Municipality == "" || keep[c.Municipality] })
}

func keepIf[T any](list []T, keep func(T) bool) []T {
	var out []T
	for _, x := range list {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Fingerprint is the printed fingerprint of the definition key.
func (e *Election) Fingerprint() string { return seal.Fingerprint(e.Definition.ID()) }

// ReceiptKey is the receipt key as the definition gives it.
func (e *Election) ReceiptKey() string { return e.Def.Election.Keys.Receipt }

// PollingStations are the stations that fill two forms (of a municipal
// election: the mayoral and the assembly results forms), in the
// definition's order.
func (e *Election) PollingStations() []*election.Station {
	var out []*election.Station
	for i := range e.Def.Stations {
		if len(e.Def.Stations[i].Forms) == 2 {
			out = append(out, &e.Def.Stations[i])
		}
	}
	return out
}

// Files are the election as `tallyd election import` reads it.
type Files struct {
	Definition string // election.json
	Codes      string // enrollment-codes.csv
	Keys       string // the directory holding receipt.key and publication.key
}

// Write writes the signed definition, the codes, the receipt and the
// publication keys into
// dir.
func (e *Election) Write(dir string) (*Files, error) {
	f := &Files{Definition: filepath.Join(dir, "election.json"), Codes: filepath.Join(dir, "enrollment-codes.csv"),
		Keys: filepath.Join(dir, "keys")}
	if err := os.MkdirAll(f.Keys, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.Definition, e.Signed, 0o600); err != nil {
		return nil, err
	}
	if err := seal.WritePrivateKeyFile(filepath.Join(f.Keys, "receipt.key"), e.Receipt); err != nil {
		return nil, err
	}
	if err := seal.WritePrivateKeyFile(filepath.Join(f.Keys, "publication.key"), e.Publication); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"role", "unit", "municipality", "name", "code"})
	for _, st := range e.Def.Stations {
		_ = w.Write([]string{string(enrollment.RoleStation), st.Code, st.Municipality, st.Name, e.Codes[st.Code]})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return f, os.WriteFile(f.Codes, b.Bytes(), 0o600)
}
