-- The commission's first schema.
--
-- Times are UTC RFC 3339 text with all nine digits of the fraction, so that
-- they sort as text in the order of the times they hold; audit.at is the
-- exception, kept exactly as the audit hash covers it. Optional text is
-- NULL when empty.
--
-- The table names are the ones storage/commissiontest names, the same as
-- the PostgreSQL store's.
--
-- What the commission signed, received or recorded is append-only, and the
-- schema refuses the rest, whoever runs the SQL: a BEFORE UPDATE and a
-- BEFORE DELETE trigger on each such table, and a BEFORE INSERT trigger
-- against an existing row, because INSERT OR REPLACE removes the old row
-- without firing the delete triggers. For submissions, conflicts and
-- decisions that insert trigger ignores the new row (RAISE(IGNORE))
-- rather than failing: the store's INSERT ... ON CONFLICT DO NOTHING then
-- still answers "nothing stored", and the stored row stays either way.

-- election is the signed election definition as imported: one row, ever.
CREATE TABLE election (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	signed      BLOB NOT NULL CHECK (length(signed) > 0),
	key_id      TEXT NOT NULL CHECK (key_id <> ''),
	imported_at TEXT NOT NULL
);

CREATE TRIGGER election_insert_once BEFORE INSERT ON election
WHEN EXISTS (SELECT 1 FROM election)
BEGIN SELECT RAISE(ABORT, 'election: the commission holds one election, ever'); END;
CREATE TRIGGER election_no_update BEFORE UPDATE ON election
BEGIN SELECT RAISE(ABORT, 'election: the imported definition is never changed'); END;
CREATE TRIGGER election_no_delete BEFORE DELETE ON election
BEGIN SELECT RAISE(ABORT, 'election: the imported definition is never removed'); END;

-- codes are the enrollment codes' hashes; seq is the order issued. A code
-- is used once or retired once, never both, and nothing else of it
-- changes.
CREATE TABLE codes (
	seq        INTEGER PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE CHECK (hash <> ''),
	role       TEXT NOT NULL CHECK (role <> ''),
	unit       TEXT NOT NULL CHECK (unit <> ''),
	issued_at  TEXT NOT NULL,
	used_at    TEXT,
	used_by    TEXT CHECK (used_by <> ''),
	retired_at TEXT,
	CHECK ((used_at IS NULL) = (used_by IS NULL)),
	CHECK (used_at IS NULL OR retired_at IS NULL)
);

CREATE INDEX codes_by_unit ON codes (role, unit);

CREATE TRIGGER codes_insert_once BEFORE INSERT ON codes
WHEN EXISTS (SELECT 1 FROM codes WHERE hash = NEW.hash OR seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'codes: this code is already issued'); END;
CREATE TRIGGER codes_use_or_retire_once BEFORE UPDATE ON codes
WHEN OLD.used_at IS NOT NULL OR OLD.retired_at IS NOT NULL
	OR NEW.seq IS NOT OLD.seq OR NEW.hash IS NOT OLD.hash OR NEW.role IS NOT OLD.role
	OR NEW.unit IS NOT OLD.unit OR NEW.issued_at IS NOT OLD.issued_at
BEGIN SELECT RAISE(ABORT, 'codes: a code is only used or retired, once'); END;
CREATE TRIGGER codes_no_delete BEFORE DELETE ON codes
BEGIN SELECT RAISE(ABORT, 'codes: an issued code is never removed'); END;

-- keys are the enrolled keys; seq is the order enrolled. A key is
-- revoked once, and nothing else of it changes.
CREATE TABLE keys (
	seq            INTEGER PRIMARY KEY,
	id             TEXT NOT NULL UNIQUE CHECK (id <> ''),
	public_key     TEXT NOT NULL,
	role           TEXT NOT NULL CHECK (role <> ''),
	unit           TEXT NOT NULL CHECK (unit <> ''),
	enrolled_at    TEXT NOT NULL,
	revoked_at     TEXT,
	revoked_reason TEXT,
	CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE TRIGGER keys_insert_once BEFORE INSERT ON keys
WHEN EXISTS (SELECT 1 FROM keys WHERE id = NEW.id OR seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'keys: this key is already enrolled'); END;
CREATE TRIGGER keys_revoke_once BEFORE UPDATE ON keys
WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
	OR NEW.seq IS NOT OLD.seq OR NEW.id IS NOT OLD.id OR NEW.public_key IS NOT OLD.public_key
	OR NEW.role IS NOT OLD.role OR NEW.unit IS NOT OLD.unit OR NEW.enrolled_at IS NOT OLD.enrolled_at
BEGIN SELECT RAISE(ABORT, 'keys: a key is only revoked, once'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys
BEGIN SELECT RAISE(ABORT, 'keys: an enrolled key is never removed'); END;

-- submissions are the stored versions of the stations' forms, one per
-- envelope and one per version of a form. number is the receipt's running
-- number: SQLite gives a new row the highest number so far plus one, and
-- as no row is ever removed, no number is given twice. (AUTOINCREMENT
-- would promise that even after a removal, at the price of a second table
-- written with every row.)
CREATE TABLE submissions (
	number       INTEGER PRIMARY KEY,
	digest       TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	station      TEXT NOT NULL CHECK (station <> ''),
	contest      TEXT NOT NULL CHECK (contest <> ''),
	form         TEXT NOT NULL CHECK (form <> ''),
	municipality TEXT NOT NULL,
	version      INTEGER NOT NULL CHECK (version >= 1),
	supersedes   TEXT CHECK (supersedes <> ''),
	key_id       TEXT NOT NULL,
	photo_sha256 TEXT CHECK (photo_sha256 <> ''),
	envelope     BLOB NOT NULL CHECK (length(envelope) > 0),
	sealed_at    TEXT NOT NULL,
	received_at  TEXT NOT NULL,
	UNIQUE (station, contest, form, version)
);

CREATE INDEX submissions_by_municipality ON submissions (municipality, station, contest, form, version);

CREATE TRIGGER submissions_insert_once BEFORE INSERT ON submissions
WHEN EXISTS (SELECT 1 FROM submissions WHERE digest = NEW.digest)
	OR EXISTS (SELECT 1 FROM submissions WHERE station = NEW.station AND contest = NEW.contest
		AND form = NEW.form AND version = NEW.version)
	OR EXISTS (SELECT 1 FROM submissions WHERE number = NEW.number)
BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER submissions_no_update BEFORE UPDATE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions: a stored submission is never changed'); END;
CREATE TRIGGER submissions_no_delete BEFORE DELETE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions: a stored submission is never removed'); END;

-- conflicts are the submissions refused for contradicting what is stored,
-- kept for the supervisors: one per envelope; id is the order recorded.
CREATE TABLE conflicts (
	id           INTEGER PRIMARY KEY,
	digest       TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	station      TEXT NOT NULL,
	contest      TEXT NOT NULL,
	form         TEXT NOT NULL,
	municipality TEXT NOT NULL,
	version      INTEGER NOT NULL,
	supersedes   TEXT CHECK (supersedes <> ''),
	key_id       TEXT NOT NULL,
	reason       TEXT NOT NULL,
	envelope     BLOB NOT NULL CHECK (length(envelope) > 0),
	at           TEXT NOT NULL
);

CREATE INDEX conflicts_by_municipality ON conflicts (municipality, id);
CREATE INDEX conflicts_by_station ON conflicts (station, id);

CREATE TRIGGER conflicts_insert_once BEFORE INSERT ON conflicts
WHEN EXISTS (SELECT 1 FROM conflicts WHERE digest = NEW.digest OR id = NEW.id)
BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER conflicts_no_update BEFORE UPDATE ON conflicts
BEGIN SELECT RAISE(ABORT, 'conflicts: a recorded conflict is never changed'); END;
CREATE TRIGGER conflicts_no_delete BEFORE DELETE ON conflicts
BEGIN SELECT RAISE(ABORT, 'conflicts: a recorded conflict is never removed'); END;

-- decisions are the supervisors' decisions on stored submissions; seq is
-- the order received.
CREATE TABLE decisions (
	seq          INTEGER PRIMARY KEY,
	digest       TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	submission   TEXT NOT NULL REFERENCES submissions (digest),
	station      TEXT NOT NULL,
	contest      TEXT NOT NULL,
	form         TEXT NOT NULL,
	municipality TEXT NOT NULL,
	verdict      TEXT NOT NULL CHECK (verdict <> ''),
	reason       TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	decided_at   TEXT NOT NULL,
	received_at  TEXT NOT NULL,
	envelope     BLOB NOT NULL CHECK (length(envelope) > 0)
);

CREATE INDEX decisions_by_station ON decisions (station, seq);
CREATE INDEX decisions_by_municipality ON decisions (municipality, seq);

CREATE TRIGGER decisions_insert_once BEFORE INSERT ON decisions
WHEN EXISTS (SELECT 1 FROM decisions WHERE digest = NEW.digest OR seq = NEW.seq)
BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a stored decision is never changed'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a stored decision is never removed'); END;

-- attachments are the whole photos of the paper forms, content-addressed
-- by their lowercase hex SHA-256.
CREATE TABLE attachments (
	sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	size        INTEGER NOT NULL CHECK (size = length(data)),
	station     TEXT NOT NULL,
	received_at TEXT NOT NULL,
	data        BLOB NOT NULL
);

CREATE TRIGGER attachments_insert_once BEFORE INSERT ON attachments
WHEN EXISTS (SELECT 1 FROM attachments WHERE sha256 = NEW.sha256)
BEGIN SELECT RAISE(ABORT, 'attachments: this attachment is already stored'); END;
CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments: a stored attachment is never changed'); END;
CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments: a stored attachment is never removed'); END;

-- upload_parts are the pieces of an attachment on its way in, in the
-- order received. Each carries the whole file's size and its station, as
-- the first part gave them. A part follows the bytes received so far; the
-- parts go together, once the whole is an attachment or is refused.
CREATE TABLE upload_parts (
	seq     INTEGER PRIMARY KEY,
	sha256  TEXT NOT NULL CHECK (length(sha256) = 64),
	start   INTEGER NOT NULL CHECK (start >= 0),
	size    INTEGER NOT NULL CHECK (size >= 0),
	station TEXT NOT NULL,
	data    BLOB NOT NULL,
	CHECK (start + length(data) <= size)
);

CREATE INDEX upload_parts_by_upload ON upload_parts (sha256, start);

CREATE TRIGGER upload_parts_in_order BEFORE INSERT ON upload_parts
WHEN NEW.start IS NOT (SELECT coalesce(sum(length(data)), 0) FROM upload_parts WHERE sha256 = NEW.sha256)
	OR EXISTS (SELECT 1 FROM upload_parts WHERE sha256 = NEW.sha256
		AND (size IS NOT NEW.size OR station IS NOT NEW.station))
	OR EXISTS (SELECT 1 FROM upload_parts WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'upload_parts: a part follows the bytes received, for the same file'); END;
CREATE TRIGGER upload_parts_no_update BEFORE UPDATE ON upload_parts
BEGIN SELECT RAISE(ABORT, 'upload_parts: a received part is never changed'); END;

-- secrets are shared by every tallyd node on the store; a secret, once
-- made, is never changed: a new one is a new name.
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY CHECK (name <> ''),
	value BLOB NOT NULL
);

CREATE TRIGGER secrets_insert_once BEFORE INSERT ON secrets
WHEN EXISTS (SELECT 1 FROM secrets WHERE name = NEW.name)
BEGIN SELECT RAISE(ABORT, 'secrets: this secret is already made'); END;
CREATE TRIGGER secrets_no_update BEFORE UPDATE ON secrets
BEGIN SELECT RAISE(ABORT, 'secrets: a secret is never changed'); END;
CREATE TRIGGER secrets_no_delete BEFORE DELETE ON secrets
BEGIN SELECT RAISE(ABORT, 'secrets: a secret is never removed'); END;

-- audit is the hash chain (app/audit). at is the exact text the hash
-- covers, details the exact JSON.
CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY CHECK (seq >= 1),
	at      TEXT NOT NULL,
	action  TEXT NOT NULL CHECK (action <> ''),
	subject TEXT NOT NULL,
	actor   TEXT NOT NULL,
	details TEXT NOT NULL CHECK (json_type(details) = 'object'),
	prev    TEXT NOT NULL CHECK (length(prev) = 64),
	-- Not UNIQUE: the links make the chain; an index of random hashes
	-- would cost a group commit hundreds of page writes.
	hash    TEXT NOT NULL CHECK (length(hash) = 64)
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
