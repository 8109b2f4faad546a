// Package electiontest makes the demo election for tests: the
// commission's keys from fixed seeds, the election trimmed to its first
// few municipalities so that it loads fast, signed. Tests of the station,
// the server and sync share it, so that they agree on one election.
package electiontest

import (
	"bytes"
	"fmt"

	"tally/app/election"
	"tally/app/seal"
)

// The seeds of the commission's keys; tests seed stations' and
// supervisors' keys from 10 up.
const (
	DefinitionSeed  = 1
	ReceiptSeed     = 2
	PublicationSeed = 3
)

// Key is the key made from a seed of 32 bytes n.
func Key(n byte) *seal.PrivateKey {
	k, err := seal.PrivateKeyFromSeed(bytes.Repeat([]byte{n}, 32))
	if err != nil {
		panic(err) // 32 bytes always make a key
	}
	return k
}

// Keys are the commission's public keys, from their seeds.
func Keys() election.Keys {
	return election.Keys{
		Definition:  seal.EncodePublicKey(Key(DefinitionSeed).Public()),
		Receipt:     seal.EncodePublicKey(Key(ReceiptSeed).Public()),
		Publication: seal.EncodePublicKey(Key(PublicationSeed).Public()),
	}
}

// Fingerprint is the fingerprint of the definition key, as printed.
func Fingerprint() string { return seal.Fingerprint(Key(DefinitionSeed).ID()) }

// Options choose a test election.
type Options struct {
	Kind           election.Kind // assembly when empty
	Seed           uint64        // 2026 when zero
	Municipalities int           // keep the first n; all when zero
	Servers        []election.Server
}

// Election makes the demo election, trims it and signs it with the
// seeded definition key.
func Election(o Options) (*election.Definition, []byte, error) {
	if o.Kind == "" {
		o.Kind = election.Assembly
	}
	if o.Seed == 0 {
		o.Seed = 2026
	}
	d, err := election.Demo(election.DemoOptions{Seed: o.Seed, Kind: o.Kind, Keys: Keys(), Servers: o.Servers})
	if err != nil {
		return nil, nil, err
	}
	if n := o.Municipalities; n > 0 && n < len(d.Municipalities) {
		keep := map[string]bool{}
		for _, m := range d.Municipalities[:n] {
			keep[m.Code] = true
		}
		d.Municipalities = d.Municipalities[:n]
		keepIf(&d.VotingCentres, func(v election.VotingCentre) bool { return keep[v.Municipality] })
		keepIf(&d.Stations, func(s election.Station) bool { return keep[s.Municipality] })
		keepIf(&d.Contests, func(c election.Contest) bool { return c.Municipality == "" || keep[c.Municipality] })
	}
	signed, err := election.Sign(d, Key(DefinitionSeed))
	if err != nil {
		return nil, nil, fmt.Errorf("electiontest: %w", err)
	}
	return d, signed, nil
}

func keepIf[T any](list *[]T, keep func(T) bool) {
	out := (*list)[:0]
	for _, x := range *list {
		if keep(x) {
			out = append(out, x)
		}
	}
	*list = out
}
