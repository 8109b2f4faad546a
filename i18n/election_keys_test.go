package i18n_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tally/app/election"
	"tally/i18n"
)

// TestElectionMessages fails when the core names a message that is not in
// the catalogs: every rule, every definition problem, every input refusal
// and the label of every field of the form.
func TestElectionMessages(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range i18n.Keys() {
		keys[k] = true
	}
	var want []string
	for _, r := range election.Rules {
		want = append(want, r.MessageKey())
	}
	for _, code := range []string{
		election.ProblemMalformed, election.ProblemTooLarge, election.ProblemRequired,
		election.ProblemDuplicate, election.ProblemUnresolved, election.ProblemOutOfRange,
		election.ProblemTooLong, election.ProblemTooMany, election.ProblemMissingLanguage,
		election.ProblemInvalid, election.ProblemBadSignature, election.ProblemWrongElection,
		election.ProblemFingerprintMismatch,
	} {
		want = append(want, election.Problem{Code: code}.MessageKey())
	}
	want = append(want,
		election.InputRequired, election.InputNotANumber, election.InputNegative,
		election.InputTooLarge, election.InputTooLong, election.InputBadText,
		election.InputUnknownField, election.InputBadHash, election.InputSamePerson,
		election.InputPhotoMissing, election.InputPhotoTooLarge, election.InputPhotoFormat)
	for _, f := range []election.Field{
		election.FieldA, election.FieldB, election.FieldC, election.FieldD, election.FieldE,
		election.FieldF, election.FieldG, election.FieldH, "I", "K",
		election.FieldMembers, election.FieldRemarks, election.FieldObjections,
		election.FieldPhoto, election.FieldEnteredBy, election.FieldReentered,
	} {
		want = append(want, "field."+string(f))
	}
	for _, f := range []election.FormKind{election.ResultsForm, election.CandidatesForm} {
		want = append(want, "form."+string(f))
	}
	for _, c := range []election.ContestKind{election.ContestAssembly, election.ContestMayor, election.ContestMunicipalAssembly} {
		want = append(want, "contest."+string(c))
	}
	for _, k := range []election.Kind{election.Assembly, election.Municipal} {
		want = append(want, "kind."+string(k))
	}
	for _, s := range []election.Severity{election.SeverityError, election.SeverityWarning} {
		want = append(want, "severity."+string(s))
	}
	for _, k := range want {
		assert.True(t, keys[k], "catalog has no message %q", k)
	}
}

// TestDemoLanguages: the demo election names things in exactly the
// catalogs' languages.
func TestDemoLanguages(t *testing.T) {
	var tags []string
	for _, l := range i18n.Languages() {
		tags = append(tags, l.Tag)
	}
	assert.Equal(t, tags, election.DemoLanguages)
}
