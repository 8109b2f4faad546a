package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/election/electiontest"
	"tally/app/enrollment"
	"tally/app/publish"
	"tally/app/seal"
)

// tree is a published tree in memory, by path from its root.
type tree map[string][]byte

func (t tree) fetch(_ context.Context, p string) ([]byte, error) {
	b, ok := t[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return bytes.Clone(b), nil
}

func (t tree) list(_ context.Context, dir string) ([]string, error) {
	var out []string
	for p := range t {
		if strings.HasPrefix(p, dir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (t tree) clone() tree {
	c := tree{}
	for k, v := range t {
		c[k] = bytes.Clone(v)
	}
	return c
}

// verifyFixture is a municipal election of one municipality published three times:
// snapshot 1 counts the first half of the forms, the first station's
// signed with a key revoked since; snapshot 2 every form; snapshot 3 a
// correction.
type verifyFixture struct {
	def     *election.Definition
	tree    tree
	snaps   []*publish.Snapshot // by number - 1
	sealed  [][]byte
	revoked *seal.PrivateKey // the first station's former key
}

func oldStationKey(code string) *seal.PrivateKey {
	seed := sha256.Sum256([]byte("former station key " + code))
	k, err := seal.PrivateKeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

// sealWith seals a version of a form with the given key, as sealForm does
// with the station's.
func sealWith(tb testing.TB, def *election.Definition, f *election.Form, version int, supersedes string, key *seal.PrivateKey) publish.Accepted {
	tb.Helper()
	sub := election.Submission{Format: election.SubmissionFormat, Form: *f, Version: version, Supersedes: supersedes,
		SealedAt: receivedAt.Add(-time.Duration(version) * time.Minute), Sequence: uint64(version)}
	payload, err := json.Marshal(sub)
	require.NoError(tb, err)
	raw, err := seal.Sign(election.SubmissionPayloadType, payload, key)
	require.NoError(tb, err)
	a, err := publish.ParseAccepted(def, raw, receivedAt.Add(time.Duration(version)*time.Second), publish.Received)
	require.NoError(tb, err)
	return a
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	_, signed, err := electiontest.Election(electiontest.Options{Kind: election.Municipal, Municipalities: 1})
	require.NoError(t, err)
	def, err := election.OpenSigned(signed, election.Trust{})
	require.NoError(t, err)
	first := &def.Stations[0]
	fx := &verifyFixture{def: def, tree: tree{publish.TreeElectionPath: signed}, revoked: oldStationKey(first.Code)}

	// Every form, version 1: the first station's signed with its former key.
	var forms []publish.Accepted
	for i := range def.Stations {
		st := &def.Stations[i]
		key := stationKey(st.Code)
		if i == 0 {
			key = fx.revoked
		}
		for _, ref := range st.Forms {
			forms = append(forms, sealWith(t, def, form(t, def, st, ref, 1), 1, "", key))
		}
	}
	// Snapshot 3: the second station corrects its first form.
	second := &def.Stations[1]
	var corrected []publish.Accepted
	for _, a := range forms {
		if a.Station == second.Code && a.Contest == second.Forms[0].Contest && a.Form == second.Forms[0].Form {
			a = sealWith(t, def, form(t, def, second, second.Forms[0], 2), 2, a.Digest, stationKey(second.Code))
		}
		corrected = append(corrected, a)
	}
	for i, counted := range [][]publish.Accepted{forms[:len(forms)/2], forms, corrected} {
		n := uint64(i + 1)
		previous := ""
		if n > 1 {
			previous = seal.Digest(fx.sealed[n-2])
		}
		s, err := publish.NewSnapshot(def, counted, n, previous, createdAt.Add(time.Duration(n)*time.Minute))
		require.NoError(t, err)
		fx.put(t, s, publicationKey())
	}
	fx.setLatest(t, 3)

	// The key list: every station's key, and the first station's former
	// key, revoked.
	revokedAt := receivedAt.Add(time.Hour)
	l := enrollment.KeyList{Format: enrollment.KeyListFormat, Election: def.Election.ID, GeneratedAt: revokedAt}
	l.Keys = append(l.Keys, enrollment.ListedKey{ID: fx.revoked.ID(), PublicKey: seal.EncodePublicKey(fx.revoked.Public()),
		Role: enrollment.RoleStation, Unit: first.Code, EnrolledAt: receivedAt.Add(-time.Hour), RevokedAt: &revokedAt})
	for _, st := range def.Stations {
		k := stationKey(st.Code)
		l.Keys = append(l.Keys, enrollment.ListedKey{ID: k.ID(), PublicKey: seal.EncodePublicKey(k.Public()),
			Role: enrollment.RoleStation, Unit: st.Code, EnrolledAt: receivedAt.Add(-time.Hour)})
	}
	sup := electiontest.Key(10)
	l.Keys = append(l.Keys, enrollment.ListedKey{ID: sup.ID(), PublicKey: seal.EncodePublicKey(sup.Public()),
		Role: enrollment.RoleSupervisor, Unit: def.Municipalities[0].Code, EnrolledAt: receivedAt})
	fx.tree[publish.TreeKeysPath] = signKeyList(t, l, electiontest.Key(electiontest.ReceiptSeed))
	return fx
}

func signKeyList(t *testing.T, l enrollment.KeyList, key *seal.PrivateKey) []byte {
	t.Helper()
	payload, err := json.Marshal(l)
	require.NoError(t, err)
	raw, err := seal.Sign(enrollment.KeyListPayloadType, payload, key)
	require.NoError(t, err)
	return raw
}

// put seals snapshot s with key and writes its files into the tree,
// replacing those of its number.
func (fx *verifyFixture) put(t *testing.T, s *publish.Snapshot, key *seal.PrivateKey) {
	t.Helper()
	sealed, err := publish.Seal(s, key)
	require.NoError(t, err)
	files, err := publish.Files(fx.def, s, sealed)
	require.NoError(t, err)
	dir := fmt.Sprintf("%s%d/", publish.TreeResultsDir, s.Number)
	for p := range fx.tree {
		if strings.HasPrefix(p, dir) {
			delete(fx.tree, p)
		}
	}
	for _, f := range files {
		fx.tree[publish.ResultsPath(f.Path)] = f.Body
	}
	if i := int(s.Number) - 1; i < len(fx.snaps) {
		fx.snaps[i], fx.sealed[i] = s, sealed
	} else {
		fx.snaps, fx.sealed = append(fx.snaps, s), append(fx.sealed, sealed)
	}
}

func (fx *verifyFixture) setLatest(t *testing.T, n uint64) {
	t.Helper()
	s := fx.snaps[n-1]
	lf, err := publish.LatestFile(&publish.Published{Number: n, Digest: seal.Digest(fx.sealed[n-1]), CreatedAt: s.CreatedAt})
	require.NoError(t, err)
	fx.tree[publish.ResultsPath(lf.Path)] = lf.Body
}

// copy is a fixture whose tree and snapshots can be changed without
// changing fx's.
func (fx *verifyFixture) copy(t *testing.T) *verifyFixture {
	t.Helper()
	c := &verifyFixture{def: fx.def, tree: fx.tree.clone(), revoked: fx.revoked}
	for i := range fx.snaps {
		c.snaps = append(c.snaps, decodeSealed(t, fx.sealed[i]))
		c.sealed = append(c.sealed, bytes.Clone(fx.sealed[i]))
	}
	return c
}

// decodeSealed reads a sealed snapshot's payload without checking it.
func decodeSealed(t *testing.T, sealed []byte) *publish.Snapshot {
	t.Helper()
	env, err := seal.Parse(sealed, publish.MaxSnapshotSize)
	require.NoError(t, err)
	var s publish.Snapshot
	require.NoError(t, json.Unmarshal(env.Payload, &s))
	return &s
}

func (fx *verifyFixture) verify(o publish.VerifyOptions) (*publish.TreeReport, error) {
	if o.Fingerprint == "" {
		o.Fingerprint = electiontest.Fingerprint()
	}
	if o.List == nil {
		o.List = fx.tree.list
	}
	return publish.VerifyTree(context.Background(), fx.tree.fetch, o)
}

// failsAt asserts that the tree is refused because of the file at path,
// with a message that says what.
func failsAt(t *testing.T, fx *verifyFixture, path, want string) *publish.VerifyError {
	t.Helper()
	_, err := fx.verify(publish.VerifyOptions{})
	require.Error(t, err)
	var ve *publish.VerifyError
	require.ErrorAs(t, err, &ve, err.Error())
	assert.Equal(t, path, ve.Path, err.Error())
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), want)
	return ve
}

func TestVerifyTree(t *testing.T) {
	fx := newVerifyFixture(t)
	snap := func(n int) string { return publish.ResultsPath(publish.SnapshotPath(uint64(n))) }

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var progress []uint64
		rep, err := fx.verify(publish.VerifyOptions{Fingerprint: strings.ToLower(strings.ReplaceAll(electiontest.Fingerprint(), " ", "")),
			Progress: func(r publish.SnapshotReport) { progress = append(progress, r.Number) }})
		require.NoError(t, err)
		assert.Equal(t, fx.def.Election.ID, rep.Election)
		assert.Equal(t, electiontest.Fingerprint(), rep.DefinitionKey)
		assert.Equal(t, seal.Fingerprint(publicationKey().ID()), rep.PublicationKey)
		assert.Equal(t, uint64(3), rep.Latest)
		assert.Equal(t, seal.Digest(fx.sealed[2]), rep.LatestDigest)
		assert.Empty(t, rep.FirstPrevious)
		assert.Equal(t, []uint64{1, 2, 3}, progress)
		assert.Equal(t, len(fx.def.Stations)+1, rep.StationKeys, "the supervisor's key is not a station's")
		assert.Equal(t, 1, rep.RevokedKeys)
		assert.Equal(t, 1, rep.RevokedSigners, "the first station's former key signed counted forms")
		require.Len(t, rep.Snapshots, 3)
		wantFiles := 3 + len(fx.def.Municipalities) + 2*len(fx.def.Contests) // snapshot, summary, names
		envelopes := 0
		for i, s := range rep.Snapshots {
			assert.Equal(t, uint64(i+1), s.Number)
			assert.Equal(t, seal.Digest(fx.sealed[i]), s.Digest)
			assert.Equal(t, len(fx.snaps[i].Stations), s.Envelopes)
			assert.Equal(t, wantFiles, s.Files)
			assert.True(t, s.Listed)
			assert.Equal(t, len(fx.def.Stations[0].Forms), s.ByRevokedKeys, "snapshot %d", s.Number)
			envelopes += s.Envelopes
		}
		assert.Less(t, rep.Snapshots[0].Envelopes, rep.Snapshots[1].Envelopes)
		assert.Less(t, rep.Snapshots[0].Stations, rep.Snapshots[1].Stations)
		assert.Equal(t, len(fx.def.Stations), rep.Snapshots[2].Stations)
		assert.Equal(t, envelopes, rep.Envelopes())
		assert.Equal(t, 3*wantFiles, rep.Files())
	})

	t.Run("OKFrom", func(t *testing.T) {
		t.Parallel()
		rep, err := fx.verify(publish.VerifyOptions{From: 2})
		require.NoError(t, err)
		require.Len(t, rep.Snapshots, 2)
		assert.Equal(t, uint64(2), rep.Snapshots[0].Number)
		assert.Equal(t, seal.Digest(fx.sealed[0]), rep.FirstPrevious)

		rep, err = fx.verify(publish.VerifyOptions{LatestOnly: true})
		require.NoError(t, err)
		require.Len(t, rep.Snapshots, 1)
		assert.Equal(t, uint64(3), rep.Snapshots[0].Number)
		assert.Equal(t, seal.Digest(fx.sealed[1]), rep.FirstPrevious)

		_, err = fx.verify(publish.VerifyOptions{From: 4})
		assert.ErrorContains(t, err, "the latest snapshot is 3: there is no snapshot 4 to check from")
		_, err = fx.verify(publish.VerifyOptions{From: 2, LatestOnly: true})
		assert.ErrorContains(t, err, "not both")
	})

	t.Run("OKWithoutListing", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		c.tree[publish.ResultsPath("2/extra.json")] = []byte("{}")
		rep, err := publish.VerifyTree(context.Background(), c.tree.fetch, publish.VerifyOptions{Fingerprint: electiontest.Fingerprint()})
		require.NoError(t, err, "a source that cannot list cannot see an extra file")
		assert.False(t, rep.Snapshots[1].Listed)
	})

	t.Run("ErrFingerprint", func(t *testing.T) {
		t.Parallel()
		_, err := fx.verify(publish.VerifyOptions{Fingerprint: seal.Fingerprint(electiontest.Key(9).ID())})
		var ve *publish.VerifyError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, publish.TreeElectionPath, ve.Path)
		assert.ErrorContains(t, err, "not the commission's results")
		_, err = publish.VerifyTree(context.Background(), fx.tree.fetch, publish.VerifyOptions{})
		assert.ErrorContains(t, err, "fingerprint")
	})

	t.Run("ErrKeyListSigner", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		env, err := seal.Parse(c.tree[publish.TreeKeysPath], enrollment.MaxKeyListSize)
		require.NoError(t, err)
		c.tree[publish.TreeKeysPath], err = seal.Sign(enrollment.KeyListPayloadType, env.Payload, publicationKey())
		require.NoError(t, err)
		ve := failsAt(t, c, publish.TreeKeysPath, "no signature by a trusted key")
		assert.ErrorIs(t, ve, seal.ErrUntrusted)
	})

	t.Run("ErrRevokedKeyLeftOut", func(t *testing.T) {
		t.Parallel()
		// Without the former key, the first station's forms in every
		// snapshot are signed by no key of the station.
		c := fx.copy(t)
		env, err := seal.Parse(c.tree[publish.TreeKeysPath], enrollment.MaxKeyListSize)
		require.NoError(t, err)
		var l enrollment.KeyList
		require.NoError(t, json.Unmarshal(env.Payload, &l))
		l.Keys = l.Keys[1:]
		c.tree[publish.TreeKeysPath] = signKeyList(t, l, electiontest.Key(electiontest.ReceiptSeed))
		failsAt(t, c, snap(1), "stations[0] (station "+fx.def.Stations[0].Code)
	})

	// (a) A number in a view.
	t.Run("ErrViewNumber", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		p := publish.ResultsPath(publish.SummaryPath(2))
		changed := bytes.Replace(c.tree[p], []byte(`"valid":`), []byte(`"valid":1`), 1)
		require.NotEqual(t, c.tree[p], changed)
		c.tree[p] = changed
		failsAt(t, c, p, "is not what signed snapshot 2 gives")
	})

	// (b) A number in the snapshot, signed again with another key.
	t.Run("ErrSignature", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		s := c.snaps[1]
		s.Results.Contests[0].National.Valid++
		c.put(t, s, electiontest.Key(9))
		ve := failsAt(t, c, snap(2), "no signature by a trusted key")
		assert.ErrorIs(t, ve, seal.ErrUntrusted)
	})

	// (c) An aggregate, signed again with the real key: the sums say no.
	t.Run("ErrSum", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		s := c.snaps[1]
		cr := &s.Results.Contests[0]
		cr.Municipalities[0].Votes[0]++
		c.put(t, s, publicationKey())
		failsAt(t, c, snap(2), fmt.Sprintf("contest %s: municipality %s: votes for entity %d are %d, the sum of its stations says %d",
			cr.Contest, cr.Municipalities[0].Code, cr.Entities[0], cr.Municipalities[0].Votes[0], cr.Municipalities[0].Votes[0]-1))
	})

	// (d) A byte of a station's envelope, the snapshot signed again with
	// the real key: the station's signature says no.
	t.Run("ErrEnvelope", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		s := c.snaps[1]
		e := &s.Stations[3]
		env := e.Envelope
		at := bytes.Index(env, []byte(`"payload":"`))
		require.Positive(t, at)
		at += len(`"payload":"`) + 40
		if env[at] == 'A' {
			env[at] = 'B'
		} else {
			env[at] = 'A'
		}
		c.put(t, s, publicationKey())
		ve := failsAt(t, c, snap(2), fmt.Sprintf("stations[3] (station %s, contest %s, %s form): the station's envelope", e.Station, e.Contest, e.Form))
		assert.ErrorIs(t, ve, seal.ErrBadSignature)
	})

	// (e) A broken chain: snapshot 3 names snapshot 1 as the one before.
	t.Run("ErrChain", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		s := c.snaps[2]
		s.PreviousDigest = seal.Digest(c.sealed[0])
		c.put(t, s, publicationKey())
		c.setLatest(t, 3)
		failsAt(t, c, snap(3), "the chain is broken: snapshot 3 names "+seal.Digest(c.sealed[0])+
			" as the digest of snapshot 2, which is "+seal.Digest(c.sealed[1]))
		// Checked from 3 on, the previous digest is only reported.
		rep, err := c.verify(publish.VerifyOptions{From: 3})
		require.NoError(t, err)
		assert.Equal(t, seal.Digest(c.sealed[0]), rep.FirstPrevious)
	})

	// (f) latest.json names another digest.
	t.Run("ErrLatestDigest", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		p := publish.ResultsPath(publish.LatestPath)
		c.tree[p] = bytes.Replace(c.tree[p], []byte(seal.Digest(c.sealed[2])), []byte(seal.Digest(c.sealed[1])), 1)
		failsAt(t, c, p, "names snapshot 3 with digest "+seal.Digest(c.sealed[1])+", but "+snap(3)+" has digest "+seal.Digest(c.sealed[2]))

		c.tree[p] = []byte(`{"format":"tally.results.latest/v1","number":3}`)
		failsAt(t, c, p, "is not a SHA-256 digest")
		delete(c.tree, p)
		failsAt(t, c, p, "is missing")
	})

	// (g) A file missing; a file that is not the snapshot's.
	t.Run("ErrMissingFile", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		p := publish.ResultsPath(publish.MunicipalityPath(2, fx.def.Municipalities[0].Code))
		delete(c.tree, p)
		ve := failsAt(t, c, p, "is missing")
		assert.True(t, errors.Is(ve, fs.ErrNotExist))

		c = fx.copy(t)
		delete(c.tree, snap(1))
		failsAt(t, c, snap(1), "is missing")
	})
	t.Run("ErrExtraFile", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		p := publish.ResultsPath("2/" + fx.def.Contests[0].Code + "/extra.csv")
		c.tree[p] = []byte("a,b\n")
		failsAt(t, c, p, "is not a file of snapshot 2")
	})

	t.Run("ErrSnapshotNumber", func(t *testing.T) {
		t.Parallel()
		c := fx.copy(t)
		c.tree[snap(2)] = c.tree[snap(1)]
		failsAt(t, c, snap(2), "holds snapshot 1, not 2")
	})
}

// BenchmarkVerifyTree checks a published snapshot of the whole demo
// municipal election as a reader does: the definition, the key list,
// every station's signature, every sum, every derived file.
func BenchmarkVerifyTree(b *testing.B) {
	def, forms := fullMunicipal(b)
	s, err := publish.NewSnapshot(def, forms, 1, "", createdAt)
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := publish.Seal(s, publicationKey())
	if err != nil {
		b.Fatal(err)
	}
	files, err := publish.Files(def, s, sealed)
	if err != nil {
		b.Fatal(err)
	}
	_, signed, err := electiontest.Election(electiontest.Options{Kind: election.Municipal})
	if err != nil {
		b.Fatal(err)
	}
	tr := tree{publish.TreeElectionPath: signed}
	for _, f := range files {
		tr[publish.ResultsPath(f.Path)] = f.Body
	}
	lf, err := publish.LatestFile(&publish.Published{Number: 1, Digest: seal.Digest(sealed), CreatedAt: s.CreatedAt})
	if err != nil {
		b.Fatal(err)
	}
	tr[publish.ResultsPath(lf.Path)] = lf.Body
	l := enrollment.KeyList{Format: enrollment.KeyListFormat, Election: def.Election.ID, GeneratedAt: createdAt}
	for _, st := range def.Stations {
		k := stationKey(st.Code)
		l.Keys = append(l.Keys, enrollment.ListedKey{ID: k.ID(), PublicKey: seal.EncodePublicKey(k.Public()),
			Role: enrollment.RoleStation, Unit: st.Code, EnrolledAt: createdAt})
	}
	payload, err := json.Marshal(l)
	if err != nil {
		b.Fatal(err)
	}
	if tr[publish.TreeKeysPath], err = seal.Sign(enrollment.KeyListPayloadType, payload, electiontest.Key(electiontest.ReceiptSeed)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := publish.VerifyTree(context.Background(), tr.fetch, publish.VerifyOptions{
			Fingerprint: electiontest.Fingerprint(), List: tr.list})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Envelopes() != len(forms) {
			b.Fatalf("%d envelopes verified, want %d", rep.Envelopes(), len(forms))
		}
	}
	b.ReportMetric(float64(len(forms)), "forms")
	b.ReportMetric(float64(len(sealed))/1e6, "MB")
}
