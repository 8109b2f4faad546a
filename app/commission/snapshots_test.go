package commission_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/audit"
	"tally/app/commission"
)

// TestArchiveSnapshot holds the Service's archive to what publish.Archive
// asks of it: Append stores before it returns and a number names its bytes
// for good (the same again is no error, other bytes are refused); Get
// answers ENotFound for a number never stored; Last is 0 and nil before
// the first; and another Service on the same store (a restart, another
// node) reads what was stored.
func TestArchiveSnapshot(t *testing.T) {
	e := newEnv(t)
	sealed := func(n uint64, note string) []byte {
		return fmt.Appendf(nil, `{"payloadType":"application/vnd.tally.results+json","payload":"%d %s"}`, n, note)
	}
	chain := func() (uint64, *audit.Record) {
		t.Helper()
		n, head, err := e.svc.VerifyAudit(e.ctx)
		require.NoError(t, err)
		return n, head
	}
	before, _ := chain()

	last, b, err := e.svc.LastArchivedSnapshot(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, last)
	assert.Nil(t, b)
	_, err = e.svc.ArchivedSnapshot(e.ctx, 1)
	assert.Equal(t, commission.ENotFound, kind(t, err))

	require.NoError(t, e.svc.ArchiveSnapshot(e.ctx, 1, sealed(1, "")))
	n, head := chain()
	assert.Equal(t, before+1, n)
	assert.Equal(t, "results.publish", head.Action)
	assert.Equal(t, "snapshot/1", head.Subject)
	assert.Equal(t, "system", head.Actor)
	assert.JSONEq(t, fmt.Sprintf(`{"digest": %q, "size": %d}`, digest(sealed(1, "")), len(sealed(1, ""))),
		string(head.Details))

	// Another record between two publications: the chain goes on.
	_, err = e.svc.IssueCodes(e.ctx, "station", []string{e.station(0).Code}, "test")
	require.NoError(t, err)
	require.NoError(t, e.svc.ArchiveSnapshot(e.ctx, 2, sealed(2, "")))

	require.NoError(t, e.svc.ArchiveSnapshot(e.ctx, 2, sealed(2, "")), "the same snapshot again")
	assert.Equal(t, commission.EConflict, kind(t, e.svc.ArchiveSnapshot(e.ctx, 2, sealed(2, "other"))))
	assert.Equal(t, commission.EConflict, kind(t, e.svc.ArchiveSnapshot(e.ctx, 1, sealed(2, ""))))
	err = e.svc.ArchiveSnapshot(e.ctx, 4, sealed(4, ""))
	assert.Equal(t, commission.EConflict, kind(t, err))
	assert.Equal(t, "results snapshot 4 cannot follow snapshot 2: the next is 3", commission.ErrorMessage(err))
	assert.Equal(t, commission.EInvalid, kind(t, e.svc.ArchiveSnapshot(e.ctx, 0, sealed(0, ""))))
	assert.Equal(t, commission.EInvalid, kind(t, e.svc.ArchiveSnapshot(e.ctx, 3, nil)))
	n, head = chain()
	assert.Equal(t, before+3, n, "two publications and the codes; nothing for a repeat or a refusal")
	assert.Equal(t, "snapshot/2", head.Subject)

	restarted := commission.New(e.store, commission.Options{})
	t.Cleanup(restarted.Close)
	last, b, err = restarted.LastArchivedSnapshot(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), last)
	assert.Equal(t, sealed(2, ""), b)
	for _, n := range []uint64{1, 2} {
		got, err := restarted.ArchivedSnapshot(e.ctx, n)
		require.NoError(t, err)
		assert.Equal(t, sealed(n, ""), got)
	}
	_, err = restarted.ArchivedSnapshot(e.ctx, 3)
	assert.Equal(t, commission.ENotFound, kind(t, err))
	require.NoError(t, restarted.ArchiveSnapshot(e.ctx, 3, sealed(3, "")), "the numbering carries on")
	n, _ = chain()
	assert.Equal(t, before+4, n)
}
