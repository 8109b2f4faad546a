package election_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

func cleanReceipt() election.Receipt {
	return election.Receipt{Format: election.ReceiptFormat, Election: "demo-2026", Station: "01001A",
		Contest: "ASM", Form: election.ResultsForm, Version: 1, Submission: photoHash("envelope"),
		Number: 17, ReceivedAt: time.Date(2026, 10, 4, 19, 42, 7, 0, time.UTC)}
}

func cleanDecision() election.Decision {
	return election.Decision{Format: election.DecisionFormat, Election: "demo-2026", Station: "01001A",
		Contest: "ASM", Form: election.ResultsForm, Submission: photoHash("envelope"),
		Verdict: election.Return, Reason: "Numri i fletëvotimeve të pavlefshme nuk përputhet me formularin.",
		DecidedAt: time.Date(2026, 10, 4, 21, 0, 0, 0, time.UTC)}
}

func TestParseReceipt(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		want := cleanReceipt()
		got, err := election.ParseReceipt(mustJSON(t, want))
		require.NoError(t, err)
		assert.True(t, want.ReceivedAt.Equal(got.ReceivedAt))
		got.ReceivedAt = want.ReceivedAt
		assert.Equal(t, want, *got)
	})
	for name, tc := range map[string]struct {
		change func(*election.Receipt)
		raw    string
		want   string
	}{
		"ErrFormat":     {change: func(r *election.Receipt) { r.Format = "tally.receipt/v2" }, want: "format"},
		"ErrElection":   {change: func(r *election.Receipt) { r.Election = "" }, want: "election"},
		"ErrStation":    {change: func(r *election.Receipt) { r.Station = "" }, want: "station"},
		"ErrContest":    {change: func(r *election.Receipt) { r.Contest = "" }, want: "contest"},
		"ErrForm":       {change: func(r *election.Receipt) { r.Form = "ballots" }, want: "form"},
		"ErrDigest":     {change: func(r *election.Receipt) { r.Submission = "ABC" }, want: "SHA-256"},
		"ErrVersion":    {change: func(r *election.Receipt) { r.Version = 0 }, want: "version"},
		"ErrNumber":     {change: func(r *election.Receipt) { r.Number = 0 }, want: "number"},
		"ErrReceivedAt": {change: func(r *election.Receipt) { r.ReceivedAt = time.Time{} }, want: "received_at"},
		"ErrUnknownKey": {raw: `{"format":"tally.receipt/v1","extra":1}`, want: "unknown field"},
		"ErrDuplicate":  {raw: `{"format":"tally.receipt/v1","format":"tally.receipt/v1"}`, want: "receipt"},
		"ErrNotJSON":    {raw: `{"format":`, want: "receipt"},
		"ErrTooLarge":   {raw: `"` + strings.Repeat("x", election.MaxAnswerSize) + `"`, want: "larger"},
	} {
		t.Run(name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.change != nil {
				r := cleanReceipt()
				tc.change(&r)
				raw = mustJSON(t, r)
			}
			_, err := election.ParseReceipt(raw)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseDecision(t *testing.T) {
	t.Run("OK return", func(t *testing.T) {
		want := cleanDecision()
		got, err := election.ParseDecision(mustJSON(t, want))
		require.NoError(t, err)
		got.DecidedAt = want.DecidedAt
		assert.Equal(t, want, *got)
	})
	t.Run("OK approve without a reason", func(t *testing.T) {
		d := cleanDecision()
		d.Verdict, d.Reason = election.Approve, ""
		_, err := election.ParseDecision(mustJSON(t, d))
		require.NoError(t, err)
	})
	for name, tc := range map[string]struct {
		change func(*election.Decision)
		want   string
	}{
		"ErrFormat":         {func(d *election.Decision) { d.Format = "x" }, "format"},
		"ErrVerdict":        {func(d *election.Decision) { d.Verdict = "maybe" }, "verdict"},
		"ErrReturnNoReason": {func(d *election.Decision) { d.Reason = "" }, "reason"},
		"ErrReasonNotNFC":   {func(d *election.Decision) { d.Reason = "e\u0301" }, "normalised"},
		"ErrReasonTooLong":  {func(d *election.Decision) { d.Reason = strings.Repeat("a", election.MaxReasonChars+1) }, "longer"},
		"ErrReasonControl":  {func(d *election.Decision) { d.Reason = "a\x00b" }, "not allowed"},
		"ErrDecidedAt":      {func(d *election.Decision) { d.DecidedAt = time.Time{} }, "decided_at"},
		"ErrDigest":         {func(d *election.Decision) { d.Submission = "" }, "SHA-256"},
		"ErrStation":        {func(d *election.Decision) { d.Station = "" }, "station"},
	} {
		t.Run(name, func(t *testing.T) {
			d := cleanDecision()
			tc.change(&d)
			_, err := election.ParseDecision(mustJSON(t, d))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzParseAnswers feeds the same bytes to both decoders of the
// commission's answers: neither may panic, and what either accepts must
// encode back to a payload it accepts again, the same.
func FuzzParseAnswers(f *testing.F) {
	f.Add(mustJSON(f, cleanReceipt()))
	f.Add(mustJSON(f, cleanDecision()))
	d := cleanDecision()
	d.Verdict, d.Reason = election.Approve, ""
	f.Add(mustJSON(f, d))
	f.Add([]byte(`{"format":"tally.receipt/v1","number":1e3}`))
	f.Add([]byte(`{"format":"tally.decision/v1","verdict":"RETURN"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if r, err := election.ParseReceipt(raw); err == nil {
			again, err := election.ParseReceipt(mustJSON(t, r))
			require.NoError(t, err)
			assert.True(t, r.ReceivedAt.Equal(again.ReceivedAt))
			again.ReceivedAt = r.ReceivedAt
			assert.Equal(t, r, again)
		}
		if d, err := election.ParseDecision(raw); err == nil {
			assert.Contains(t, []election.Verdict{election.Approve, election.Return}, d.Verdict)
			assert.False(t, d.Verdict == election.Return && d.Reason == "", "a return without a reason")
			again, err := election.ParseDecision(mustJSON(t, d))
			require.NoError(t, err)
			again.DecidedAt = d.DecidedAt
			assert.Equal(t, d, again)
		}
	})
}
