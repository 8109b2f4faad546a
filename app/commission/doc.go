// Package commission holds what the commission's server does: import the
// signed election, issue enrollment codes, bind keys to stations and
// supervisors, take sealed submissions in (verified before anything is
// stored, idempotent, acknowledged only once durable, many sharing one
// commit), answer with signed receipts, record conflicts and supervisors'
// decisions, and keep the hash-chained audit log. It knows no SQL and no
// HTTP: a Store keeps the state (storage/commissionlite over SQLite,
// storage/commissionpg over PostgreSQL) and server/ speaks HTTP.
package commission
