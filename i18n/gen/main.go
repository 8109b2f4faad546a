// Command gen writes the Serbian Cyrillic catalog, catalog/sr-Cyrl.json,
// from the Serbian Latin one, catalog/sr-Latn.json. It runs from the i18n
// directory through `go generate ./i18n`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"tally/i18n"
)

func main() {
	dir := flag.String("dir", "catalog", "directory that holds the catalogs")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	latin, err := os.ReadFile(filepath.Join(dir, "sr-Latn.json"))
	if err != nil {
		return err
	}
	cyrillic, err := i18n.CyrillicCatalog(latin)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sr-Cyrl.json"), cyrillic, 0o644)
}
