package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tally/app/station"
	"tally/i18n"
)

// pdfText is the text of a PDF file as pdftotext lays it out.
func pdfText(t *testing.T, file string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	require.NoError(t, err, "pdftotext (poppler-utils) is missing: run scripts/install-deps.sh gui-test")
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", file, "-").Output()
	require.NoError(t, err)
	return string(out)
}

// TestStationPrint prints a sealed form before and after the commission's
// receipt, in two languages, and checks what the PDF says; refusals write
// no file and change nothing.
func TestStationPrint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	contest := f.key.Contest
	out := func(name string) string { return filepath.Join(f.dir, name) }

	f.fails("not provisioned", "", "station", "print", "--contest", contest, "--out", out("none.pdf"))
	assert.NoFileExists(t, out("none.pdf"))
	assert.NoFileExists(t, f.db)

	f.provision()
	f.fails(contest+"/results is not sealed yet", "", "station", "print", "--contest", contest, "--out", out("early.pdf"))
	assert.NoFileExists(t, out("early.pdf"))

	counts := f.counts()
	file := f.countsFile("first.json", counts, 5, "Numërimi përfundoi në orën 23:10.")
	photo := f.writeFile("form.png", pngPhoto(t))
	f.ok("", "station", "enter", "--contest", contest, "--file", file, "--as", "first", "--by", chair, "--photo", photo)
	file = f.countsFile("second.json", counts, 5, "")
	f.ok("", "station", "enter", "--contest", contest, "--file", file, "--as", "second", "--by", second)
	var v1 station.Version
	require.NoError(t, json.Unmarshal([]byte(f.ok("", "station", "seal", "--contest", contest,
		"--pin-file", f.pinFile, "--json")), &v1))
	records := f.auditRecords()

	// Before the receipt: the PDF says that it has not come.
	en, err := i18n.New("en")
	require.NoError(t, err)
	text := f.ok("", "station", "print", "--contest", contest, "--out", out("v1.pdf"), "--lang", "en")
	assert.Contains(t, text, "printed         "+contest+"/results version 1, in en")
	assert.Contains(t, text, "not yet received by the commission")
	pdf := pdfText(t, out("v1.pdf"))
	assert.Contains(t, pdf, f.station.Code)
	assert.Contains(t, pdf, v1.Digest)
	assert.Contains(t, strings.Join(strings.Fields(pdf), " "), en.T("print.not-received", nil))
	for _, spec := range f.layout.Fields {
		assert.Regexp(t, `(?m)^\s*`+regexp.QuoteMeta(string(spec.ID))+`\s+\S.*\s`+strconv.Itoa(counts[string(spec.ID)])+`\s*$`,
			pdf, "the row of %s", spec.ID)
	}

	// The same version prints the same bytes; an existing file is never
	// overwritten.
	f.ok("", "station", "print", "--contest", contest, "--out", out("again.pdf"), "--lang", "en")
	first, err := os.ReadFile(out("v1.pdf"))
	require.NoError(t, err)
	again, err := os.ReadFile(out("again.pdf"))
	require.NoError(t, err)
	assert.Equal(t, first, again)
	f.fails("exists: printing never overwrites", "", "station", "print", "--contest", contest,
		"--out", out("v1.pdf"), "--lang", "sq")
	kept, err := os.ReadFile(out("v1.pdf"))
	require.NoError(t, err)
	assert.Equal(t, first, kept)

	// After the receipt, in Serbian Cyrillic, by default the last version.
	f.ok("", "station", "receipt", f.receipt(f.receiptKey, 1, v1.Digest, 1187))
	st := f.status()
	require.NotNil(t, st.LastReceipt)
	var res printResult
	require.NoError(t, json.Unmarshal([]byte(f.ok("", "station", "print", "--contest", contest,
		"--out", out("v1-sr.pdf"), "--lang", "sr-Cyrl", "--json")), &res))
	assert.Equal(t, printResult{File: out("v1-sr.pdf"), Form: contest + "/results", Version: 1, Digest: v1.Digest,
		Language: "sr-Cyrl", Receipt: 1187, Received: true, Size: res.Size, SHA256: res.SHA256}, res)
	sr, err := i18n.New("sr-Cyrl")
	require.NoError(t, err)
	pdf = pdfText(t, out("v1-sr.pdf"))
	assert.Contains(t, pdf, sr.T("form.results", nil))
	assert.Contains(t, pdf, f.station.Code)
	assert.Contains(t, pdf, v1.Digest)
	assert.Contains(t, pdf, st.LastReceipt.Digest)
	assert.Contains(t, pdf, "1187")
	assert.NotContains(t, strings.Join(strings.Fields(pdf), " "), sr.T("print.not-received", nil))
	for _, spec := range f.layout.Fields {
		assert.Regexp(t, `(?m)^\s*`+regexp.QuoteMeta(string(spec.ID))+`\s+\S.*\s`+strconv.Itoa(counts[string(spec.ID)])+`\s*$`,
			pdf, "the row of %s", spec.ID)
	}
	text = f.ok("", "station", "print", "--contest", contest, "--version", "1", "--out", out("v1-sq.pdf"))
	assert.Contains(t, text, "in sq")
	assert.Contains(t, text, "number 1187")

	// Refusals write nothing.
	f.fails("version 2 is not sealed", "", "station", "print", "--contest", contest, "--version", "2",
		"--out", out("v2.pdf"))
	assert.NoFileExists(t, out("v2.pdf"))
	f.fails(`does not fill the form NOPE/results`, "", "station", "print", "--contest", "NOPE", "--out", out("nope.pdf"))
	assert.NoFileExists(t, out("nope.pdf"))
	f.fails("no such file or directory", "", "station", "print", "--contest", contest,
		"--out", filepath.Join(f.dir, "missing", "dir", "x.pdf"))
	for _, args := range [][]string{
		{"station", "print", "--contest", contest},
		{"station", "print", "--out", out("u.pdf")},
		{"station", "print", "--contest", contest, "--out", out("u.pdf"), "--lang", "de"},
		{"station", "print", "--contest", contest, "--out", out("u.pdf"), "--version", "-1"},
		{"station", "print", "--contest", contest, "--out", out("u.pdf"), "--form", "other"},
		{"station", "print", "--contest", contest, "--out", out("u.pdf"), "extra"},
	} {
		r := f.tally("", args...)
		assert.Equal(t, 2, r.code, "tally %v: %s", args, r.errOut)
		assert.Contains(t, r.errOut, "Usage:", "tally %v", args)
	}
	assert.NoFileExists(t, out("u.pdf"))

	// Printing changed nothing in the station.
	assert.Equal(t, records+1, f.auditRecords(), "only the receipt was recorded")
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	var pdfs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pdf") {
			pdfs = append(pdfs, e.Name())
		}
	}
	assert.ElementsMatch(t, []string{"again.pdf", "v1.pdf", "v1-sq.pdf", "v1-sr.pdf"}, pdfs)
	assert.True(t, bytes.HasPrefix(first, []byte("%PDF-")))
}
