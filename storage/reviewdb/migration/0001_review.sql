-- The supervisor's first schema.
--
-- Times are UTC RFC 3339 text with all nine digits of the fraction, so that
-- they sort as text in the order of the times they hold; audit.at is the
-- exception, kept exactly as the audit hash covers it.
--
-- What the supervisor signed, verified or recorded is append-only, and the
-- schema refuses the rest, whoever runs the SQL: a BEFORE UPDATE and a
-- BEFORE DELETE trigger on each such table, and a BEFORE INSERT trigger
-- against an existing key, because INSERT OR REPLACE removes the old row
-- without firing the delete triggers. What was fetched of the server's
-- views is replaced by each newer fetch, with its time.

-- definition is the signed election definition as imported: one row, ever.
CREATE TABLE definition (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	signed BLOB NOT NULL CHECK (length(signed) > 0)
);

CREATE TRIGGER definition_insert_once BEFORE INSERT ON definition
WHEN EXISTS (SELECT 1 FROM definition)
BEGIN SELECT RAISE(ABORT, 'definition: the supervisor holds one definition, ever'); END;
CREATE TRIGGER definition_no_update BEFORE UPDATE ON definition
BEGIN SELECT RAISE(ABORT, 'definition: the imported definition is never changed'); END;
CREATE TRIGGER definition_no_delete BEFORE DELETE ON definition
BEGIN SELECT RAISE(ABORT, 'definition: the imported definition is never removed'); END;

-- provisioning binds the laptop to its municipality: one row, updated as
-- the PIN throttle moves and when the key is enrolled.
CREATE TABLE provisioning (
	id                  INTEGER PRIMARY KEY CHECK (id = 1),
	election            TEXT NOT NULL,
	municipality        TEXT NOT NULL,
	definition_key_id   TEXT NOT NULL,
	public_key          TEXT NOT NULL,
	vault               BLOB NOT NULL,
	throttle_failures   INTEGER NOT NULL CHECK (throttle_failures >= 0),
	throttle_not_before TEXT NOT NULL,
	provisioned_at      TEXT NOT NULL,
	provisioned_by      TEXT NOT NULL,
	enrolled_at         TEXT,
	enrolled_with       TEXT NOT NULL
);

-- The key that signs the supervisor's decisions never changes.
CREATE TRIGGER provisioning_key_fixed BEFORE UPDATE ON provisioning
WHEN NEW.public_key IS NOT OLD.public_key OR NEW.vault IS NOT OLD.vault
	OR NEW.municipality IS NOT OLD.municipality OR NEW.election IS NOT OLD.election
BEGIN SELECT RAISE(ABORT, 'provisioning: the municipality and the key never change'); END;
CREATE TRIGGER provisioning_no_delete BEFORE DELETE ON provisioning
BEGIN SELECT RAISE(ABORT, 'provisioning: never removed'); END;

-- overview is the municipality's overview as last fetched (JSON).
CREATE TABLE overview (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	body       TEXT NOT NULL CHECK (json_valid(body)),
	fetched_at TEXT NOT NULL
);

-- station_records are the stations' records as last fetched (JSON).
CREATE TABLE station_records (
	code       TEXT PRIMARY KEY CHECK (code <> ''),
	body       TEXT NOT NULL CHECK (json_valid(body)),
	fetched_at TEXT NOT NULL
) WITHOUT ROWID;

-- key_list is the commission's signed key list as last fetched; a newer
-- fetch replaces it, an older list never does.
CREATE TABLE key_list (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	envelope     BLOB NOT NULL CHECK (length(envelope) > 0),
	digest       TEXT NOT NULL CHECK (length(digest) = 64),
	generated_at TEXT NOT NULL,
	fetched_at   TEXT NOT NULL
);

CREATE TRIGGER key_list_never_older BEFORE UPDATE ON key_list
WHEN NEW.generated_at < OLD.generated_at
BEGIN SELECT RAISE(ABORT, 'key_list: an older key list never replaces a newer one'); END;
CREATE TRIGGER key_list_no_delete BEFORE DELETE ON key_list
BEGIN SELECT RAISE(ABORT, 'key_list: never removed'); END;

-- envelopes are the stations' submissions as fetched and verified,
-- exactly as signed; the rowid is the order fetched.
CREATE TABLE envelopes (
	id         INTEGER PRIMARY KEY,
	digest     TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	station    TEXT NOT NULL CHECK (station <> ''),
	contest    TEXT NOT NULL CHECK (contest <> ''),
	form       TEXT NOT NULL CHECK (form <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	supersedes TEXT CHECK ((version = 1) = (supersedes IS NULL)),
	key_id     TEXT NOT NULL CHECK (length(key_id) = 64),
	envelope   BLOB NOT NULL CHECK (length(envelope) > 0),
	fetched_at TEXT NOT NULL
);

CREATE INDEX envelopes_by_form ON envelopes (station, contest, form, version);

CREATE TRIGGER envelopes_insert_once BEFORE INSERT ON envelopes
WHEN EXISTS (SELECT 1 FROM envelopes WHERE digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'envelopes: this submission is already stored'); END;
CREATE TRIGGER envelopes_no_update BEFORE UPDATE ON envelopes
BEGIN SELECT RAISE(ABORT, 'envelopes: a fetched submission is never changed'); END;
CREATE TRIGGER envelopes_no_delete BEFORE DELETE ON envelopes
BEGIN SELECT RAISE(ABORT, 'envelopes: a fetched submission is never removed'); END;

-- photos are content-addressed by their lowercase hex SHA-256.
CREATE TABLE photos (
	sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
	data       BLOB NOT NULL,
	fetched_at TEXT NOT NULL
);

CREATE TRIGGER photos_insert_once BEFORE INSERT ON photos
WHEN EXISTS (SELECT 1 FROM photos WHERE sha256 = NEW.sha256)
BEGIN SELECT RAISE(ABORT, 'photos: this photo is already stored'); END;
CREATE TRIGGER photos_no_update BEFORE UPDATE ON photos
BEGIN SELECT RAISE(ABORT, 'photos: a stored photo is never changed'); END;
CREATE TRIGGER photos_no_delete BEFORE DELETE ON photos
BEGIN SELECT RAISE(ABORT, 'photos: a stored photo is never removed'); END;

-- decisions are the supervisor's signed decisions; the rowid is the
-- order made.
CREATE TABLE decisions (
	id         INTEGER PRIMARY KEY,
	digest     TEXT NOT NULL UNIQUE CHECK (length(digest) = 64),
	submission TEXT NOT NULL REFERENCES envelopes (digest),
	station    TEXT NOT NULL,
	contest    TEXT NOT NULL,
	form       TEXT NOT NULL,
	verdict    TEXT NOT NULL CHECK (verdict IN ('approve', 'return')),
	reason     TEXT NOT NULL CHECK (verdict = 'approve' OR reason <> ''),
	signed_by  TEXT NOT NULL CHECK (length(signed_by) = 64),
	decided_at TEXT NOT NULL,
	envelope   BLOB NOT NULL CHECK (length(envelope) > 0)
);

CREATE TRIGGER decisions_insert_once BEFORE INSERT ON decisions
WHEN EXISTS (SELECT 1 FROM decisions WHERE digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'decisions: this decision is already stored'); END;
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a signed decision is never changed'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions: a signed decision is never removed'); END;

-- deliveries are the commission's word that it stored a decision.
CREATE TABLE deliveries (
	digest      TEXT PRIMARY KEY REFERENCES decisions (digest),
	received_at TEXT NOT NULL,
	recorded_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER deliveries_insert_once BEFORE INSERT ON deliveries
WHEN EXISTS (SELECT 1 FROM deliveries WHERE digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'deliveries: this decision is already delivered'); END;
CREATE TRIGGER deliveries_no_update BEFORE UPDATE ON deliveries
BEGIN SELECT RAISE(ABORT, 'deliveries: a delivery is never changed'); END;
CREATE TRIGGER deliveries_no_delete BEFORE DELETE ON deliveries
BEGIN SELECT RAISE(ABORT, 'deliveries: a delivery is never removed'); END;

-- outbox holds the decisions the commission does not have yet. A row
-- leaves only once its delivery is stored, and never changes meanwhile.
CREATE TABLE outbox (
	digest    TEXT PRIMARY KEY REFERENCES decisions (digest),
	queued_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER outbox_insert_once BEFORE INSERT ON outbox
WHEN EXISTS (SELECT 1 FROM outbox WHERE digest = NEW.digest)
	OR EXISTS (SELECT 1 FROM deliveries WHERE digest = NEW.digest)
BEGIN SELECT RAISE(ABORT, 'outbox: this decision is already queued or delivered'); END;
CREATE TRIGGER outbox_no_update BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox: a queued decision is never changed'); END;
CREATE TRIGGER outbox_delete_with_delivery BEFORE DELETE ON outbox
WHEN NOT EXISTS (SELECT 1 FROM deliveries WHERE digest = OLD.digest)
BEGIN SELECT RAISE(ABORT, 'outbox: a decision leaves the outbox only once delivered'); END;

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

CREATE TRIGGER audit_append BEFORE INSERT ON audit
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit)
	OR NEW.prev IS NOT coalesce((SELECT hash FROM audit WHERE seq = NEW.seq - 1),
		'0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit: a record must follow the last one and link to it'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit: a record is never changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit: a record is never removed'); END;
