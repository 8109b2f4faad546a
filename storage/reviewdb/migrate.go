package reviewdb

import (
	"embed"

	"tally/storage/sqlitefile"
)

// migrationFiles are the schema's history, NNNN_name.sql, applied in
// order by sqlitefile.Migrate. A file, once released, is never edited: a
// change is a new file.
//
//go:embed migration/*.sql
var migrationFiles embed.FS

// ErrNewerSchema refuses a database that a newer build has migrated.
var ErrNewerSchema = sqlitefile.ErrNewerSchema
