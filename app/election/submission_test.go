package election_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/election"
)

// supersededDigest stands for the digest of an envelope of version 1.
var supersededDigest = photoHash("envelope of version 1")

func TestParseSubmission(t *testing.T) {
	d := testDefinition(t)

	t.Run("OK", func(t *testing.T) {
		want := cleanSubmission()
		got, findings, err := election.ParseSubmission(mustJSON(t, want), d)
		require.NoError(t, err)
		assert.Empty(t, findings)
		assert.True(t, want.SealedAt.Equal(got.SealedAt))
		got.SealedAt = want.SealedAt
		assert.Equal(t, want, got)
	})
	t.Run("OK candidates", func(t *testing.T) {
		s := cleanSubmission()
		s.Form = *cleanCandidatesForm()
		got, findings, err := election.ParseSubmission(mustJSON(t, s), d)
		require.NoError(t, err)
		assert.Empty(t, findings)
		assert.Equal(t, s.Form, got.Form)
	})
	t.Run("OK version 2", func(t *testing.T) {
		s := cleanSubmission()
		s.Version, s.Supersedes = 2, supersededDigest
		got, _, err := election.ParseSubmission(mustJSON(t, s), d)
		require.NoError(t, err)
		assert.Equal(t, 2, got.Version)
		assert.Equal(t, supersededDigest, got.Supersedes)
	})
	t.Run("OK with warnings", func(t *testing.T) {
		s := cleanSubmission()
		s.Form.PhotoSHA256 = ""
		_, findings, err := election.ParseSubmission(mustJSON(t, s), d)
		require.NoError(t, err, "warnings do not need confirming")
		assert.Equal(t, []string{"W.NO-PHOTO"}, codes(findings))
	})
	t.Run("OK error confirmed", func(t *testing.T) {
		s := cleanSubmission()
		s.Form.Counts["G"]++ // F ≠ G + H, as on the paper form
		s.Confirmed = []election.Confirmation{{
			Rule:        "E.F-GH",
			Explanation: "Formulari në letër ka 9 fletëvotime të pavlefshme; kështu është nënshkruar.",
		}}
		got, findings, err := election.ParseSubmission(mustJSON(t, s), d)
		require.NoError(t, err)
		assert.Equal(t, []election.Finding{{
			Code: "E.F-GH", Severity: election.SeverityError, Fields: []election.Field{"F", "G", "H"},
			Args: map[string]any{"F": 400, "G": 9, "H": 392, "Sum": 401},
		}}, findings)
		assert.Equal(t, s.Confirmed, got.Confirmed)
	})
	t.Run("OK two errors confirmed", func(t *testing.T) {
		s := cleanSubmission()
		s.Form.Counts["G"]++ // E.F-GH
		s.Form.Counts["D"]++ // E.C-BAL
		s.Confirmed = []election.Confirmation{
			{Rule: "E.F-GH", Explanation: "Kështu është në formular."},
			{Rule: "E.C-BAL", Explanation: "Një fletëvotim i papërdorur\nu numërua dy herë."},
		}
		_, findings, err := election.ParseSubmission(mustJSON(t, s), d)
		require.NoError(t, err)
		assert.Equal(t, []string{"E.C-BAL", "E.F-GH"}, codes(findings))
	})

	for _, c := range []struct {
		name    string
		payload func(t *testing.T) []byte
		want    string // in the error
	}{
		{name: "oversized", want: "larger than", payload: func(t *testing.T) []byte {
			raw := mustJSON(t, cleanSubmission())
			pad := bytes.Repeat([]byte(" "), election.MaxSubmissionSize+1-len(raw))
			return append(raw, pad...)
		}},
		{name: "empty", want: "submission", payload: func(t *testing.T) []byte { return nil }},
		{name: "truncated", want: "ends too early", payload: func(t *testing.T) []byte {
			raw := mustJSON(t, cleanSubmission())
			return raw[:len(raw)/2]
		}},
		{name: "not an object", want: "submission", payload: func(t *testing.T) []byte { return []byte(`[1,2]`) }},
		{name: "data after the object", want: "after the end", payload: func(t *testing.T) []byte {
			return append(mustJSON(t, cleanSubmission()), []byte(` {}`)...)
		}},
		{name: "duplicate key", want: `"version" appears more than once`, payload: func(t *testing.T) []byte {
			raw := mustJSON(t, cleanSubmission())
			return append([]byte(`{"version":2,`), raw[1:]...)
		}},
		{name: "duplicate count", want: `"C" appears more than once`, payload: func(t *testing.T) []byte {
			raw := mustJSON(t, cleanSubmission())
			return bytes.Replace(raw, []byte(`"counts":{`), []byte(`"counts":{"C":1,`), 1)
		}},
		{name: "unknown field", want: "unknown field", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["station_key"] = "ed25519:AAAA" })
		}},
		{name: "unknown form field", want: "unknown field", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { formOf(m)["signed_by_chair"] = true })
		}},
		{name: "count as a string", want: "submission", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { countsOf(m)["C"] = "650" })
		}},
		{name: "count with a fraction", want: "submission", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { countsOf(m)["C"] = 650.5 })
		}},
		{name: "wrong format", want: "format", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["format"] = "tally.submission/v2" })
		}},
		{name: "no format", want: "format", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { delete(m, "format") })
		}},
		{name: "wrong election", want: "election", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { formOf(m)["election"] = "another-election" })
		}},
		{name: "unknown count field", want: "I.9", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { countsOf(m)["I.9"] = 0 })
		}},
		{name: "negative count", want: "B", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { countsOf(m)["B"] = -400 })
		}},
		{name: "remarks not normalised", want: "remarks", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { formOf(m)["remarks"] = "e\u0301" })
		}},
		{name: "version 0", want: "version 0", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["version"] = 0 })
		}},
		{name: "no version", want: "version 0", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { delete(m, "version") })
		}},
		{name: "version too high", want: "version", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) {
				m["version"], m["supersedes"] = election.MaxVersion+1, supersededDigest
			})
		}},
		{name: "version 1 with supersedes", want: "version 1 supersedes nothing", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["supersedes"] = supersededDigest })
		}},
		{name: "version 2 without supersedes", want: "version 2", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["version"] = 2 })
		}},
		{name: "version 2 with a short digest", want: "version 2", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["version"], m["supersedes"] = 2, supersededDigest[:63] })
		}},
		{name: "version 2 with an uppercase digest", want: "version 2", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) {
				m["version"], m["supersedes"] = 2, strings.ToUpper(supersededDigest)
			})
		}},
		{name: "missing sealed_at", want: "sealed_at", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { delete(m, "sealed_at") })
		}},
		{name: "zero sealed_at", want: "sealed_at", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["sealed_at"] = time.Time{} })
		}},
		{name: "sealed_at not a time", want: "submission", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { m["sealed_at"] = "20 December 2026" })
		}},
		{name: "empty field", want: "field C is empty", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) { delete(countsOf(m), "C") })
		}},
		{name: "empty field confirmed", want: "field C is empty", payload: func(t *testing.T) []byte {
			return payloadWith(t, func(m map[string]any) {
				delete(countsOf(m), "C")
				m["confirmed"] = []election.Confirmation{{Rule: "E.REQUIRED", Explanation: "Fusha është bosh në letër."}}
			})
		}},
		{name: "error not confirmed", want: "E.F-GH is not confirmed", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			return mustJSON(t, s)
		}},
		{name: "one of two errors confirmed", want: "E.C-BAL is not confirmed", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Form.Counts["D"]++
			s.Confirmed = []election.Confirmation{{Rule: "E.F-GH", Explanation: "Kështu është në formular."}}
			return mustJSON(t, s)
		}},
		{name: "two errors not confirmed", want: "E.C-BAL is not confirmed", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++ // E.F-GH
			s.Form.Counts["D"]++ // E.C-BAL, first in the order of the rules
			return mustJSON(t, s)
		}},
		{name: "confirmation of a rule that did not fire", want: "E.B-A", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Confirmed = []election.Confirmation{{Rule: "E.B-A", Explanation: "Kështu është në formular."}}
			return mustJSON(t, s)
		}},
		{name: "confirmation of a warning", want: "W.NO-PHOTO", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.PhotoSHA256 = ""
			s.Confirmed = []election.Confirmation{{Rule: "W.NO-PHOTO", Explanation: "Kamera nuk punon."}}
			return mustJSON(t, s)
		}},
		{name: "confirmation of an unknown rule", want: "E.NONE", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Confirmed = []election.Confirmation{{Rule: "E.NONE", Explanation: "Kështu është në formular."}}
			return mustJSON(t, s)
		}},
		{name: "rule confirmed twice", want: "confirmed twice", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Confirmed = []election.Confirmation{
				{Rule: "E.F-GH", Explanation: "Kështu është në formular."},
				{Rule: "E.F-GH", Explanation: "Përsëri."},
			}
			return mustJSON(t, s)
		}},
		{name: "empty explanation", want: "E.F-GH", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Confirmed = []election.Confirmation{{Rule: "E.F-GH", Explanation: ""}}
			return mustJSON(t, s)
		}},
		{name: "blank explanation", want: "E.F-GH", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Confirmed = []election.Confirmation{{Rule: "E.F-GH", Explanation: " \n\t "}}
			return mustJSON(t, s)
		}},
		{name: "explanation not normalised", want: "E.F-GH", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Confirmed = []election.Confirmation{{Rule: "E.F-GH", Explanation: "Kështu është ne\u0301 formular."}}
			return mustJSON(t, s)
		}},
		{name: "explanation too long", want: "explanation", payload: func(t *testing.T) []byte {
			s := cleanSubmission()
			s.Form.Counts["G"]++
			s.Confirmed = []election.Confirmation{{Rule: "E.F-GH",
				Explanation: strings.Repeat("ë", election.MaxExplanationChars+1)}}
			return mustJSON(t, s)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload := c.payload(t)
			s, findings, err := election.ParseSubmission(payload, d)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "submission: "), "%q", err)
			assert.Nil(t, s)
			assert.Nil(t, findings)
			for range 10 {
				_, _, again := election.ParseSubmission(payload, d)
				require.EqualError(t, again, err.Error(), "the same payload gets the same answer")
			}
		})
	}
}

// comparableSubmission puts a parsed submission in a form that compares equal to
// any other parse of the same content: the instant of sealing without its
// location, and no confirmations as nil.
func comparableSubmission(s *election.Submission) election.Submission {
	c := *s
	c.SealedAt = c.SealedAt.UTC()
	if len(c.Confirmed) == 0 {
		c.Confirmed = nil
	}
	return c
}

func FuzzParseSubmission(f *testing.F) {
	d := testDefinition(f)
	add := func(s *election.Submission) { f.Add(mustJSON(f, s)) }

	add(cleanSubmission())
	s := cleanSubmission()
	s.Form = *cleanCandidatesForm()
	add(s)
	s = cleanSubmission()
	s.Version, s.Supersedes = 2, supersededDigest
	add(s)
	s = cleanSubmission()
	s.Form.Counts["G"]++
	s.Form.Remarks = "Një fletëvotim\nmungon."
	s.Confirmed = []election.Confirmation{{Rule: "E.F-GH", Explanation: "Kështu është në formular."}}
	add(s)
	s = cleanSubmission()
	s.Form.Counts["G"]++
	add(s) // the error is not confirmed
	s = cleanSubmission()
	delete(s.Form.Counts, "C")
	add(s)
	raw := mustJSON(f, cleanSubmission())
	f.Add(raw[:len(raw)/2])
	f.Add(append([]byte(`{"version":2,`), raw[1:]...))
	f.Add(bytes.Replace(raw, []byte(`"format"`), []byte(`"FORMAT"`), 1))
	f.Add(bytes.Replace(raw, []byte(`"sealed_at":"2026-12-20T21:42:07+01:00"`), []byte(`"sealed_at":"2026-12-20T20:42:07.5Z"`), 1))
	f.Add([]byte(`{"format":"tally.submission/v1","confirmed":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`))

	f.Fuzz(func(t *testing.T, payload []byte) {
		s, findings, err := election.ParseSubmission(payload, d)
		if err != nil {
			if s != nil || findings != nil {
				t.Fatalf("refused, and yet returned a submission or findings: %v", err)
			}
			return
		}
		again, findings2, err := election.ParseSubmission(mustJSON(t, s), d)
		if err != nil {
			t.Fatalf("accepted %q, but not its re-encoding: %v", payload, err)
		}
		if !again.SealedAt.Equal(s.SealedAt) {
			t.Fatalf("sealed_at %v became %v", s.SealedAt, again.SealedAt)
		}
		assert.Equal(t, comparableSubmission(s), comparableSubmission(again))
		assert.Equal(t, findings, findings2)
		for _, e := range election.Errors(findings) {
			if e.Code == "E.REQUIRED" {
				t.Fatalf("accepted a form with an empty field: %v", e.Fields)
			}
		}
	})
}

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"0", " 42 ", "007", "-1", "4.2", "1e3", "abc", "", "٣", "9999999", "10000000",
		"123456789012345678901234567890", "\t5\n", "-", "+5", "0000000000000000000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := election.ParseCount("C", in)
		if err != nil {
			ie, ok := err.(*election.InputError)
			if !ok || ie.Field != "C" || !strings.HasPrefix(ie.Key, "input.") {
				t.Fatalf("ParseCount(%q): %#v", in, err)
			}
			return
		}
		if n < 0 || n > election.MaxCount {
			t.Fatalf("ParseCount(%q) = %d, outside 0–%d", in, n, election.MaxCount)
		}
		digits := strings.TrimLeft(strings.TrimSpace(in), "0")
		if digits == "" {
			digits = "0"
		}
		if got := strconv.Itoa(n); got != digits {
			t.Fatalf("ParseCount(%q) = %d, want the digits %q", in, n, digits)
		}
	})
}
