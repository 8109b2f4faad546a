// Package storage keeps the station's and the server's data: SQLite on the
// station and, by default, on the server; PostgreSQL for a commission that
// runs several server nodes. It implements the interfaces of app/.
package storage
