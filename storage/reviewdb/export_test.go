package reviewdb

import (
	"database/sql"

	"tally/storage/sqlitefile"
)

// OpenRaw opens the file with plain SQL, past the store, for the tests
// of what the schema itself refuses.
func OpenRaw(path string) (*sql.DB, error) {
	dsn, err := sqlitefile.DataSourceName(path)
	if err != nil {
		return nil, err
	}
	return sql.Open("sqlite", dsn)
}
