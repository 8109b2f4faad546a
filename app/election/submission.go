package election

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/cases"
)

// SubmissionFormat names the version of the submission payload.
const SubmissionFormat = "tally.submission/v1"

// SubmissionPayloadType is the DSSE payload type of a sealed submission.
const SubmissionPayloadType = "application/vnd.tally.submission+json"

// Limits of a submission payload.
const (
	MaxSubmissionSize   = 1 << 20
	MaxVersion          = 10_000
	MaxExplanationChars = 2000
)

// Submission is the payload a station seals: one version of one form.
type Submission struct {
	Format string `json:"format"`
	Form   Form   `json:"form"`
	// Version counts from 1; a correction is version n+1 and names the
	// digest of the envelope of version n it supersedes.
	Version    int    `json:"version"`
	Supersedes string `json:"supersedes,omitempty"`
	// Confirmed holds the chair's explanation of each error the paper
	// form itself carries.
	Confirmed []Confirmation `json:"confirmed,omitempty"`
	SealedAt  time.Time      `json:"sealed_at"`
	// Sequence increases with every seal on the station, whatever the
	// wall clock says.
	Sequence uint64 `json:"sequence"`
}

// Confirmation is the chair's word that the paper form says so.
type Confirmation struct {
	Rule        string `json:"rule"`
	Explanation string `json:"explanation"`
}

// ParseSubmission decodes a submission payload strictly and checks it
// against the definition: the form's structure, the version chain's shape,
// and that every error the rules find is confirmed with an explanation and
// nothing else is. It returns the form's findings too.
func ParseSubmission(payload []byte, d *Definition) (*Submission, []Finding, error) {
	if len(payload) > MaxSubmissionSize {
		return nil, nil, fmt.Errorf("submission: larger than %d bytes", MaxSubmissionSize)
	}
	if p := checkJSON(payload); p != nil {
		return nil, nil, fmt.Errorf("submission: %w", p)
	}
	var s Submission
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, nil, fmt.Errorf("submission: %w", decodeProblem(err))
	}
	if s.Format != SubmissionFormat {
		return nil, nil, fmt.Errorf("submission: format %q is not %q", s.Format, SubmissionFormat)
	}
	l, st, err := s.Form.Check(d)
	if err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	if err := s.checkChain(); err != nil {
		return nil, nil, err
	}
	if s.SealedAt.IsZero() {
		return nil, nil, fmt.Errorf("submission: sealed_at is missing")
	}
	findings := Validate(l, st, &s.Form)
	if err := CheckConfirmations(findings, s.Confirmed); err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	return &s, findings, nil
}

func (s *Submission) checkChain() error {
	switch {
	case s.Version < 1 || s.Version > MaxVersion:
		return fmt.Errorf("submission: version %d is outside 1–%d", s.Version, MaxVersion)
	case s.Version == 1 && s.Supersedes != "":
		return fmt.Errorf("submission: version 1 supersedes nothing, but names %q", s.Supersedes)
	case s.Version > 1 && !isDigest(s.Supersedes):
		return fmt.Errorf("submission: version %d must name the SHA-256 digest of the version it supersedes", s.Version)
	}
	return nil
}

func isDigest(s string) bool { return CheckPhotoHash(s) == nil }

// CheckConfirmations allows sealing only when the form has no empty field
// and each error that fired is confirmed once with an explanation, and no
// confirmation names a rule that did not fire.
func CheckConfirmations(findings []Finding, confirmed []Confirmation) error {
	fired := map[string]bool{}
	for _, f := range findings {
		if f.Severity != SeverityError {
			continue
		}
		if f.Code == "E.REQUIRED" {
			return fmt.Errorf("field %s is empty", f.Fields[0])
		}
		fired[f.Code] = true
	}
	seen := map[string]bool{}
	for _, c := range confirmed {
		if !fired[c.Rule] {
			return fmt.Errorf("confirmation of %q, which does not apply to these numbers", c.Rule)
		}
		if seen[c.Rule] {
			return fmt.Errorf("%q is confirmed twice", c.Rule)
		}
		seen[c.Rule] = true
		text, err := NormalizeText(Field("explanation"), c.Explanation, MaxExplanationChars)
		if err != nil {
			return err
		}
		if text != c.Explanation || strings.TrimSpace(text) == "" {
			return fmt.Errorf("the explanation of %s is empty or not normalised", c.Rule)
		}
	}
	// In the order of the findings, so that the same form always gets the
	// same answer.
	for _, f := range findings {
		if f.Severity == SeverityError && !seen[f.Code] {
			return fmt.Errorf("error %s is not confirmed with an explanation", f.Code)
		}
	}
	return nil
}

// foldEqual compares without regard to case. A Caser keeps state, so each
// call makes its own.
func foldEqual(a, b string) bool {
	c := cases.Fold()
	return c.String(a) == c.String(b)
}
