// Package review holds what a municipal supervisor does on election
// night: provision the laptop for the municipality, enroll the key, keep
// what was last fetched from the commission (with when), show every
// station of the municipality with its state, open a station's submission
// and verify it here — against the commission's signed list of station
// keys, not on the server's word — with its numbers, findings, the chair's
// explanations and its history, and approve or return it with a signed
// decision that waits in an outbox until the commission has it.
//
// It knows no SQL, no HTTP and no widgets; a Store keeps its state
// (storage/reviewdb over SQLite). The sync layer fetches and sends; the
// screens call the use cases.
package review
