package station_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/enrollment"
	"tally/app/station"
)

func TestDelivery(t *testing.T) {
	e := newEnv(t, election.Assembly)
	e.agree(asm, cleanValues(e.layout(asm), e.station))
	v, err := e.svc.Seal(e.ctx, asm, e.key)
	require.NoError(t, err)

	pending, err := e.svc.Pending(e.ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, v.Envelope, pending[0].Envelope)
	assert.Zero(t, pending[0].Delivery.Attempts)

	at := e.clock.Now()
	require.NoError(t, e.svc.RecordAttempt(e.ctx, station.Delivery{Digest: v.Digest, Attempts: 1, LastAttempt: at,
		NextAttempt: at.Add(2 * time.Second), LastError: "connection refused"}))
	pending, err = e.svc.Pending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, pending[0].Delivery.Attempts)
	assert.Equal(t, "connection refused", pending[0].Delivery.LastError)
	assert.True(t, pending[0].Delivery.NextAttempt.Equal(at.Add(2*time.Second)))

	n := e.auditCount()
	require.NoError(t, e.svc.RecordAttempt(e.ctx, station.Delivery{Digest: v.Digest, Attempts: 2, LastAttempt: at,
		Refused: true, Reason: "version 1 is already stored as another envelope"}))
	assert.Equal(t, n+1, e.auditCount(), "a refusal is audited")
	require.Error(t, e.svc.RetryRefused(e.ctx, "nope", "Arta Krasniqi"))
	require.NoError(t, e.svc.RetryRefused(e.ctx, v.Digest, "Arta Krasniqi"))
	pending, err = e.svc.Pending(e.ctx)
	require.NoError(t, err)
	assert.False(t, pending[0].Delivery.Refused)
	assert.Equal(t, 2, pending[0].Delivery.Attempts, "the attempts are kept")

	photos, err := e.svc.PendingPhotos(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, photos, "a photo goes only once its submission is receipted")
	_, err = e.svc.RecordReceipt(e.ctx, e.receipt(v, 1))
	require.NoError(t, err)
	require.NoError(t, e.svc.RecordAttempt(e.ctx, station.Delivery{Digest: v.Digest, Attempts: 9}),
		"an attempt recorded after the receipt changes nothing")
	photos, err = e.svc.PendingPhotos(e.ctx)
	require.NoError(t, err)
	require.Len(t, photos, 1)
	data, err := e.svc.PhotoData(e.ctx, photos[0].SHA256)
	require.NoError(t, err)
	assert.Equal(t, photo(asm.String()), data)
	require.NoError(t, e.svc.RecordUpload(e.ctx, photos[0].SHA256))
	require.NoError(t, e.svc.RecordUpload(e.ctx, photos[0].SHA256), "again: nothing to do")
	photos, err = e.svc.PendingPhotos(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, photos)
}

func TestEnrollment(t *testing.T) {
	e := newEnv(t, election.Assembly)
	code := "ABCDE-FGHJK-MNPQR"
	raw, err := e.svc.EnrollmentRequest(e.ctx, e.key, code)
	require.NoError(t, err)
	req, pub, err := enrollment.OpenRequest(raw)
	require.NoError(t, err)
	assert.Equal(t, e.key.ID(), pub.ID)
	assert.Equal(t, stationCode, req.Unit)
	assert.Equal(t, enrollment.RoleStation, req.Role)
	_, err = e.svc.EnrollmentRequest(e.ctx, seededKey(t, 7), code)
	assert.ErrorIs(t, err, station.ErrWrongKey)
	_, err = e.svc.EnrollmentRequest(e.ctx, e.key, "not a code")
	assert.Error(t, err)

	require.NoError(t, e.svc.RecordEnrollment(e.ctx, "https://tally.example"))
	st, err := e.svc.Status(e.ctx)
	require.NoError(t, err)
	require.NotNil(t, st.Provisioned.EnrolledAt)
	assert.Equal(t, "https://tally.example", st.Provisioned.EnrolledWith)
}
