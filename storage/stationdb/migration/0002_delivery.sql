-- Sending: the attempts at each sealed version, the photos the commission
-- holds, and the enrollment of the station's key. This is bookkeeping,
-- not record: a delivery row changes with every attempt. What the
-- commission answered is recorded in receipts (append-only) and in the
-- audit log.

CREATE TABLE deliveries (
	digest       TEXT PRIMARY KEY REFERENCES versions (digest),
	attempts     INTEGER NOT NULL CHECK (attempts >= 0),
	last_attempt TEXT NOT NULL,
	next_attempt TEXT NOT NULL,
	last_error   TEXT NOT NULL,
	refused      INTEGER NOT NULL CHECK (refused IN (0, 1)),
	reason       TEXT NOT NULL
);

CREATE TABLE uploads (
	sha256      TEXT PRIMARY KEY REFERENCES photos (sha256),
	uploaded_at TEXT NOT NULL
);
CREATE TRIGGER uploads_no_update BEFORE UPDATE ON uploads
BEGIN SELECT RAISE(ABORT, 'uploads: an upload is never changed'); END;
CREATE TRIGGER uploads_no_delete BEFORE DELETE ON uploads
BEGIN SELECT RAISE(ABORT, 'uploads: an upload is never forgotten'); END;

ALTER TABLE provisioning ADD COLUMN enrolled_at TEXT;
ALTER TABLE provisioning ADD COLUMN enrolled_with TEXT NOT NULL DEFAULT '';
