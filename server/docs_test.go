package server_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/server"
)

// TestAPIDocsListEveryRoute holds docs/api.md to the routes the server
// registers: its one table of routes lists each exactly once, with the
// method, the path pattern and the authentication the code has.
func TestAPIDocsListEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	require.NoError(t, err)

	const header = "| Method | Path | Auth | Answers |"
	var documented []server.Route
	tables := 0
	inTable := false
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == header:
			tables++
			inTable = true
			continue
		case !inTable:
			continue
		case !strings.HasPrefix(line, "|"):
			inTable = false
			continue
		case strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| ---"):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cells, 4, "row %q", line)
		clean := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		documented = append(documented, server.Route{Method: clean(cells[0]), Path: clean(cells[1]),
			Auth: server.Auth(clean(cells[2]))})
	}
	require.Equal(t, 1, tables, "docs/api.md must have exactly one table of routes")

	f := newFixture(t, nil)
	require.ElementsMatch(t, f.srv.Routes(), documented)
}
