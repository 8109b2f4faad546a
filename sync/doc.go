// Package sync is the wire protocol between station and server — the types
// both sides share — the station's client and its outbox worker.
package sync
