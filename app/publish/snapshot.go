package publish

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"tally/app/election"
	"tally/app/seal"
)

// SnapshotFormat names the version of the snapshot document.
const SnapshotFormat = "tally.results/v1"

// PayloadType is the DSSE payload type of a sealed results snapshot.
const PayloadType = "application/vnd.tally.results+json"

// MaxSnapshotSize bounds a sealed snapshot: a municipal election's (every
// station's envelope of both contests inside, in base64, twice over) is
// about 20 MB.
const MaxSnapshotSize = 256 << 20

// Snapshot is one published set of preliminary results: numbered from 1,
// chained to the one before by its digest, and carrying every counted
// station envelope so that anyone can check each station's signature and
// add the numbers up again without trusting the commission's sums.
type Snapshot struct {
	Format string `json:"format"`
	Number uint64 `json:"number"`
	// PreviousDigest is the seal.Digest of the sealed snapshot numbered
	// Number-1; empty for the first.
	PreviousDigest string    `json:"previous_digest,omitempty"`
	Election       string    `json:"election"`
	CreatedAt      time.Time `json:"created_at"`
	Results        *Results  `json:"results"`
	// Stations are the counted forms, in the order of the definition's
	// stations and of each station's forms.
	Stations []StationEntry `json:"stations"`
}

// StationEntry is one counted form: the head version of a station's form
// and the envelope the station sealed, exactly as stored.
type StationEntry struct {
	Station     string                 `json:"station"`
	Contest     string                 `json:"contest"`
	Form        election.FormKind      `json:"form"`
	Version     int                    `json:"version"`
	Digest      string                 `json:"digest"` // seal.Digest of Envelope
	Review      Review                 `json:"review"` // received or approved
	ReceivedAt  time.Time              `json:"received_at"`
	PhotoSHA256 string                 `json:"photo_sha256,omitempty"`
	Counts      map[election.Field]int `json:"counts"`
	Envelope    []byte                 `json:"envelope"` // base64 in JSON
}

// NewSnapshot aggregates the accepted forms (see Aggregate) into a
// snapshot with the given number, the digest of the sealed snapshot before
// it ("" for the first) and the time it is made.
func NewSnapshot(def *election.Definition, latest []Accepted, number uint64, previous string, at time.Time) (*Snapshot, error) {
	if number < 1 {
		return nil, errors.New("publish: snapshots are numbered from 1")
	}
	if (number == 1) != (previous == "") {
		return nil, fmt.Errorf("publish: snapshot %d with previous digest %q: only the first has none", number, previous)
	}
	heads, err := countedHeads(def, latest)
	if err != nil {
		return nil, err
	}
	results, err := aggregateHeads(def, heads)
	if err != nil {
		return nil, err
	}
	return &Snapshot{
		Format: SnapshotFormat, Number: number, PreviousDigest: previous, Election: def.Election.ID,
		CreatedAt: at.UTC().Truncate(time.Millisecond), Results: results, Stations: stationEntries(def, heads),
	}, nil
}

// stationEntries lists the counted heads in the order of the definition.
func stationEntries(def *election.Definition, heads map[formKey]*Accepted) []StationEntry {
	out := make([]StationEntry, 0, len(heads))
	for i := range def.Stations {
		st := &def.Stations[i]
		for _, f := range st.Forms {
			h := heads[formKey{st.Code, f.Contest, f.Form}]
			if h == nil {
				continue
			}
			out = append(out, StationEntry{
				Station: h.Station, Contest: h.Contest, Form: h.Form, Version: h.Version, Digest: h.Digest,
				Review: h.Review, ReceivedAt: h.ReceivedAt.UTC(), PhotoSHA256: h.PhotoSHA256,
				Counts: h.Counts, Envelope: h.Envelope,
			})
		}
	}
	return out
}

// Seal encodes the snapshot as JSON and signs it with the commission's
// publication key. The same snapshot always gives the same bytes: struct
// fields in a fixed order, maps with sorted keys, and Ed25519 signatures
// are deterministic.
func Seal(s *Snapshot, key *seal.PrivateKey) ([]byte, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("publish: encode snapshot %d: %w", s.Number, err)
	}
	return seal.Sign(PayloadType, payload, key)
}

// SealedSnapshot is a snapshot as sealed, with what an Archive keeps of
// it.
type SealedSnapshot struct {
	Number   uint64
	Raw      []byte         // the DSSE envelope, as served
	Digest   string         // seal.Digest(Raw)
	Envelope *seal.Envelope // Raw decoded: payload type, payload, signatures
	// Stripped is the payload with every station's envelope null: the
	// snapshot without what the commission's store holds already.
	Stripped []byte
}

// sealWith is Seal that takes each station entry's JSON from the cache
// when it holds it, and also gives the stripped payload.
func sealWith(s *Snapshot, key *seal.PrivateKey, cache *entryCache) (*SealedSnapshot, error) {
	payload, stripped, err := encodeSnapshot(s, cache)
	if err != nil {
		return nil, fmt.Errorf("publish: encode snapshot %d: %w", s.Number, err)
	}
	raw, env, err := seal.SignEnvelope(PayloadType, payload, key)
	if err != nil {
		return nil, err
	}
	return &SealedSnapshot{Number: s.Number, Raw: raw, Digest: seal.Digest(raw), Envelope: env, Stripped: stripped}, nil
}

// entryCache keeps the JSON of the counted forms of one snapshot for the
// next: a form's entry is the same as long as its head and review are, and
// most of a snapshot's bytes are the envelopes, in base64, in its entries.
type entryCache struct {
	m map[string]encodedEntry
}

// encodedEntry is a station entry's JSON, with its envelope and without
// (null).
type encodedEntry struct{ full, stripped []byte }

// encodeEntry is json.Marshal(e), and the same with e.Envelope nil: one
// encoding, as the envelope is the entry's last field and base64 in JSON
// needs no escaping.
func encodeEntry(e *StationEntry) (encodedEntry, error) {
	bare := *e
	bare.Envelope = nil
	stripped, err := json.Marshal(&bare)
	if err != nil {
		return encodedEntry{}, err
	}
	const tail = `"envelope":null}`
	if !bytes.HasSuffix(stripped, []byte(tail)) {
		return encodedEntry{}, errors.New("a station entry's JSON does not end with its envelope")
	}
	if e.Envelope == nil {
		return encodedEntry{full: stripped, stripped: stripped}, nil
	}
	head := stripped[:len(stripped)-len("null}")]
	full := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(e.Envelope))+2)
	full = append(full, head...)
	full = append(full, '"')
	full = base64.StdEncoding.AppendEncode(full, e.Envelope)
	full = append(full, '"', '}')
	return encodedEntry{full: full, stripped: stripped}, nil
}

// encodeSnapshot is json.Marshal(s), byte for byte, and the same with
// every station's envelope nil, with each station entry's JSON taken from
// the cache when it holds it. The cache then holds this snapshot's entries
// only.
func encodeSnapshot(s *Snapshot, cache *entryCache) (full, stripped []byte, err error) {
	head := *s
	head.Stations = nil
	b, err := json.Marshal(&head)
	if err != nil {
		return nil, nil, err
	}
	const tail = `"stations":null}` // Stations is the last field
	if !bytes.HasSuffix(b, []byte(tail)) {
		return nil, nil, errors.New("the snapshot's JSON does not end with its stations")
	}
	next := make(map[string]encodedEntry, len(s.Stations))
	entries := make([]encodedEntry, len(s.Stations))
	fullSize, strippedSize := len(b), len(b)
	for i := range s.Stations {
		e := &s.Stations[i]
		key := e.Digest + " " + string(e.Review)
		enc, ok := cache.m[key]
		if !ok {
			if enc, err = encodeEntry(e); err != nil {
				return nil, nil, err
			}
		}
		next[key], entries[i] = enc, enc
		fullSize += len(enc.full) + 1
		strippedSize += len(enc.stripped) + 1
	}
	join := func(size int, part func(encodedEntry) []byte) []byte {
		out := make([]byte, 0, size+2)
		out = append(out, b[:len(b)-len(tail)]...)
		out = append(out, `"stations":[`...)
		for i, enc := range entries {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, part(enc)...)
		}
		return append(out, "]}"...)
	}
	full = join(fullSize, func(e encodedEntry) []byte { return e.full })
	stripped = join(strippedSize, func(e encodedEntry) []byte { return e.stripped })
	cache.m = next
	return full, stripped, nil
}

// decodeSnapshot reads a snapshot payload strictly: one JSON object of
// known fields, nothing after it.
func decodeSnapshot(payload []byte) (*Snapshot, error) {
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("publish: snapshot: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("publish: snapshot: data after the document")
	}
	if s.Format != SnapshotFormat {
		return nil, fmt.Errorf("publish: snapshot: format %q is not %q", s.Format, SnapshotFormat)
	}
	if s.Number < 1 {
		return nil, errors.New("publish: snapshot: numbered from 1")
	}
	if (s.Number == 1) != (s.PreviousDigest == "") {
		return nil, fmt.Errorf("publish: snapshot %d: only the first names no previous snapshot", s.Number)
	}
	if s.PreviousDigest != "" && election.CheckPhotoHash(s.PreviousDigest) != nil {
		return nil, fmt.Errorf("publish: snapshot %d: previous digest %q is not a SHA-256 digest", s.Number, s.PreviousDigest)
	}
	if s.Results == nil {
		return nil, fmt.Errorf("publish: snapshot %d: results are missing", s.Number)
	}
	return &s, nil
}

// sortedFields lists a form's counts by field name, for messages that
// must come out the same every time.
func sortedFields(counts map[election.Field]int) []election.Field {
	out := make([]election.Field, 0, len(counts))
	for f := range counts {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
