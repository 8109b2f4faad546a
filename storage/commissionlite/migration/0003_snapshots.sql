-- snapshots are the published results snapshots (app/publish), sealed,
-- exactly as served: numbered 1, 2, … without a gap, and a number names
-- its bytes for good. digest is the SHA-256 of sealed, in lowercase hex;
-- created_at is the commission's clock when the snapshot was stored, in
-- the text form of the other times.
CREATE TABLE snapshots (
	number     INTEGER PRIMARY KEY CHECK (number >= 1),
	digest     TEXT NOT NULL CHECK (length(digest) = 64),
	sealed     BLOB NOT NULL CHECK (length(sealed) > 0),
	created_at TEXT NOT NULL
);

-- A snapshot follows the last one stored. That also refuses an insert
-- over a stored number, which INSERT OR REPLACE would otherwise turn into
-- a removal that fires no delete trigger.
CREATE TRIGGER snapshots_append BEFORE INSERT ON snapshots
WHEN NEW.number IS NOT (SELECT coalesce(max(number), 0) + 1 FROM snapshots)
BEGIN SELECT RAISE(ABORT, 'snapshots: a snapshot follows the last one, and a number names one snapshot'); END;
CREATE TRIGGER snapshots_no_update BEFORE UPDATE ON snapshots
BEGIN SELECT RAISE(ABORT, 'snapshots: a published snapshot is never changed'); END;
CREATE TRIGGER snapshots_no_delete BEFORE DELETE ON snapshots
BEGIN SELECT RAISE(ABORT, 'snapshots: a published snapshot is never removed'); END;
