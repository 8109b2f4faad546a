-- The station's first schema.
--
-- Times are UTC RFC 3339 text with all nine digits of the fraction, so that
-- they sort as text in the order of the times they hold; audit.at is the
-- exception, kept exactly as the audit hash covers it.
--
-- What the station signed, received or recorded is append-only, and the
-- schema refuses the rest, whoever runs the SQL: a BEFORE UPDATE and a
-- BEFORE DELETE trigger on each such table, and a BEFORE INSERT trigger
-- against an existing key, because INSERT OR REPLACE removes the old row
-- without firing the delete triggers.

-- definition is the signed election definition as imported: one row, ever.
CREATE TABLE definition (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	signed BLOB NOT NULL CHECK (length(signed) > 0)
);

CREATE TRIGGER definition_insert_once BEFORE INSERT ON definition
WHEN EXISTS (SELECT 1 FROM definition)
BEGIN SELECT RAISE(ABORT, 'definition: the station holds one definition, ever'); END;
CREATE TRIGGER definition_no_update BEFORE UPDATE ON definition
BEGIN SELECT RAISE(ABORT, 'definition: the imported definition is never changed'); END;
CREATE TRIGGER definition_no_delete BEFORE DELETE ON definition
BEGIN SELECT RAISE(ABORT, 'definition: the imported definition is never removed'); END;

-- provisioning binds the laptop to its station: one row, updated as the
-- PIN throttle and the sequence move.
CREATE TABLE provisioning (
	id                  INTEGER PRIMARY KEY CHECK (id = 1),
	election            TEXT NOT NULL,
	station             TEXT NOT NULL,
	definition_key_id   TEXT NOT NULL,
	public_key          TEXT NOT NULL,
	vault               BLOB NOT NULL,
	throttle_failures   INTEGER NOT NULL CHECK (throttle_failures >= 0),
	throttle_not_before TEXT NOT NULL,
	sequence            INTEGER NOT NULL CHECK (sequence >= 0),
	provisioned_at      TEXT NOT NULL
);

-- A sequence number given once is never given again, whatever the clock.
CREATE TRIGGER provisioning_sequence_monotonic BEFORE UPDATE OF sequence ON provisioning
WHEN NEW.sequence < OLD.sequence
BEGIN SELECT RAISE(ABORT, 'provisioning: the sequence never goes back'); END;

-- sheets holds the scalar part of each form's working state; its draft
-- values are rows of draft_values, so that saving a field writes one row.
CREATE TABLE sheets (
	contest    TEXT NOT NULL CHECK (contest <> ''),
	form       TEXT NOT NULL CHECK (form <> ''),
	state      TEXT NOT NULL CHECK (state <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	first_by   TEXT NOT NULL,
	second_by  TEXT NOT NULL,
	resolved   TEXT CHECK (resolved IS NULL OR json_type(resolved) = 'object'),
	remarks    TEXT NOT NULL,
	objections TEXT NOT NULL,
	photo      TEXT NOT NULL,
	confirmed  TEXT CHECK (confirmed IS NULL OR json_type(confirmed) = 'array'),
	head       TEXT NOT NULL,
	reason     TEXT NOT NULL,
	updated    TEXT NOT NULL,
	PRIMARY KEY (contest, form)
) WITHOUT ROWID;

-- draft_values keeps every version's typing: a correction starts a new
-- version and leaves the earlier typing in place.
CREATE TABLE draft_values (
	contest TEXT NOT NULL,
	form    TEXT NOT NULL,
	version INTEGER NOT NULL CHECK (version >= 1),
	entry   INTEGER NOT NULL CHECK (entry IN (1, 2)),
	field   TEXT NOT NULL CHECK (field <> ''),
	value   INTEGER NOT NULL,
	PRIMARY KEY (contest, form, version, entry, field)
) WITHOUT ROWID;

-- photos are content-addressed by their lowercase hex SHA-256.
CREATE TABLE photos (
	sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	data   BLOB NOT NULL
);

CREATE TRIGGER photos_insert_once BEFORE INSERT ON photos
WHEN EXISTS (SELECT 1 FROM photos WHERE sha256 = NEW.sha256)
BEGIN SELECT RAISE(ABORT, 'photos: this photo is already stored'); END;
CREATE TRIGGER photos_no_update BEFORE UPDATE ON photos
BEGIN SELECT RAISE(ABORT, 'photos: a stored photo is never changed'); END;
CREATE TRIGGER photos_no_delete BEFORE DELETE ON photos
BEGIN SELECT RAISE(ABORT, 'photos: a stored photo is never removed'); END;

-- versions are the sealed envelopes exactly as signed; id is the order
-- in which they were sealed.
CREATE TABLE versions (
	id         INTEGER PRIMARY KEY,
	contest    TEXT NOT NULL CHECK (contest <> ''),
	form       TEXT NOT NULL CHECK (form <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	digest     TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	-- The digest of the version this one corrects: none for version 1.
	supersedes TEXT CHECK ((version = 1) = (supersedes IS NULL)),
	envelope   BLOB NOT NULL CHECK (length(envelope) > 0),
	sealed_at  TEXT NOT NULL,
	sequence   INTEGER NOT NULL CHECK (sequence >= 0),
	UNIQUE (contest, form, version)
);

CREATE TRIGGER versions_insert_once BEFORE INSERT ON versions
WHEN EXISTS (SELECT 1 FROM versions WHERE digest = NEW.digest
	OR (contest = NEW.contest AND form = NEW.form AND version = NEW.version))
BEGIN SELECT RAISE(ABORT, 'versions: this version is already sealed'); END;
-- A correction supersedes the form's previous version, sealed here: the
-- chain of versions has no gap and no fork.
CREATE TRIGGER versions_chain BEFORE INSERT ON versions
WHEN NEW.version > 1 AND NOT EXISTS (SELECT 1 FROM versions WHERE digest = NEW.supersedes
	AND contest = NEW.contest AND form = NEW.form AND version = NEW.version - 1)
BEGIN SELECT RAISE(ABORT, 'versions: a correction must supersede the version before it'); END;
CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'versions: a sealed version is never changed'); END;
CREATE TRIGGER versions_no_delete BEFORE DELETE ON versions
BEGIN SELECT RAISE(ABORT, 'versions: a sealed version is never removed'); END;

-- receipts are the commission's verified receipts, one per submission;
-- the rowid is the order in which they were stored.
CREATE TABLE receipts (
	submission  TEXT PRIMARY KEY REFERENCES versions (digest),
	digest      TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	number      INTEGER NOT NULL CHECK (number >= 0),
	received_at TEXT NOT NULL,
	envelope    BLOB NOT NULL CHECK (length(envelope) > 0),
	stored_at   TEXT NOT NULL
);

CREATE TRIGGER receipts_insert_once BEFORE INSERT ON receipts
WHEN EXISTS (SELECT 1 FROM receipts WHERE submission = NEW.submission OR digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'receipts: this submission already has its receipt'); END;
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts: a stored receipt is never changed'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts: a stored receipt is never removed'); END;

-- outbox holds the sealed versions waiting for their receipt. A row
-- leaves only once the receipt is stored, and never changes meanwhile.
CREATE TABLE outbox (
	digest    TEXT PRIMARY KEY REFERENCES versions (digest),
	queued_at TEXT NOT NULL
);

CREATE TRIGGER outbox_insert_once BEFORE INSERT ON outbox
WHEN EXISTS (SELECT 1 FROM outbox WHERE digest = NEW.digest)
	OR EXISTS (SELECT 1 FROM receipts WHERE submission = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'outbox: this version is already queued or receipted'); END;
CREATE TRIGGER outbox_no_update BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox: a queued version is never changed'); END;
CREATE TRIGGER outbox_delete_with_receipt BEFORE DELETE ON outbox
WHEN NOT EXISTS (SELECT 1 FROM receipts WHERE submission = OLD.digest)
BEGIN SELECT RAISE(ABORT, 'outbox: a version leaves the outbox only with its receipt'); END;

-- decisions are the supervisors' verified decisions; the rowid is the
-- order in which they were stored.
CREATE TABLE decisions (
	digest     TEXT PRIMARY KEY CHECK (length(digest) = 64),
	submission TEXT NOT NULL,
	contest    TEXT NOT NULL,
	form       TEXT NOT NULL,
	verdict    TEXT NOT NULL CHECK (verdict <> ''),
	reason     TEXT NOT NULL,
	signed_by  TEXT NOT NULL,
	decided_at TEXT NOT NULL,
	envelope   BLOB NOT NULL CHECK (length(envelope) > 0),
	stored_at  TEXT NOT NULL
);

CREATE INDEX decisions_by_submission ON decisions (submission);

CREATE TRIGGER decisions_insert_once BEFORE INSERT ON decisions
WHEN EXISTS (SELECT 1 FROM decisions WHERE digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'decisions: this decision is already stored'); END;
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a stored decision is never changed'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a stored decision is never removed'); END;

-- audit is the hash chain (app/audit). at is the exact text the hash
-- covers, details the exact JSON.
CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY CHECK (seq >= 1),
	at      TEXT NOT NULL,
	action  TEXT NOT NULL,
	subject TEXT NOT NULL,
	actor   TEXT NOT NULL,
	details TEXT NOT NULL,
	prev    TEXT NOT NULL,
	hash    TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);

-- Each record follows the last one and links to it, so the chain has no
-- gap and cannot be rewritten by inserting over an existing record.
CREATE TRIGGER audit_append BEFORE INSERT ON audit
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit)
	OR NEW.prev IS NOT coalesce((SELECT hash FROM audit WHERE seq = NEW.seq - 1),
		'0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit: a record must follow the last one and link to it'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit: a record is never changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit: a record is never removed'); END;
