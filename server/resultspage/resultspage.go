// Package resultspage is the public, read-only results page: plain HTML,
// CSS and JavaScript, with its translations, and no build step. tallyd
// serves it under /results/; `tallyd publish --out DIR` writes it to
// DIR/results/ beside DIR/v1/results/.
//
// The page reads the published files of publish.Files by relative URLs
// (../v1/results/latest.json, then N/summary.json and
// N/municipalities/CODE.json), so that the same files work behind tallyd
// and on any static host. See docs/results-page.md.
package resultspage

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS holds the page's files at its root: index.html, app.js, style.css
// and i18n.json (every string the page shows, in every language).
var FS fs.FS = mustSub(static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant the embed directive names
	}
	return sub
}
