// Package station holds what a polling station does with its forms, from
// provisioning the laptop to the receipt: the use cases that the desktop
// screens and the headless commands call. It knows no SQL, no HTTP and no
// widgets; a Store keeps its state (storage/stationdb over SQLite).
//
// Each paper form of the station (a contest and a form kind) has a Sheet
// whose life is an explicit state machine (see State and the transitions
// table): first entry, a blind second entry by another commissioner, the
// differences settled by retyping, the errors confirmed, then sealed as a
// signed version that sits in the outbox until the commission's receipt
// arrives. A correction is a new version that supersedes the head; sealed
// versions never change.
package station
