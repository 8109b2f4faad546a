-- The commission's first schema.
--
-- Several tallyd nodes write to it at once, so the rules that keep it
-- whole are the database's: unique constraints for what is stored once,
-- and triggers for what is never changed. Times are timestamptz (to the
-- microsecond, as the store keeps them); envelopes and files are bytea,
-- exactly as received; optional text is NULL when empty.
--
-- Functions that read tables pin their search_path to this schema, so
-- that a session with another search_path still checks against these
-- tables.

-- refuse_change refuses a whole statement on an append-only table:
-- statement-level, so that it fires even when no row matches and for
-- TRUNCATE, which row triggers never see.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '%: % is refused: what is stored here is never changed or removed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'integrity_constraint_violation';
END
$$;

-- write_lock is one row that every write transaction locks (FOR UPDATE)
-- as it begins: writes from every node then take turns, so the audit
-- chain stays one chain, receipt numbers follow the order of commits
-- without a gap, and no two transactions can wait on each other's rows.
CREATE TABLE write_lock (
	id smallint PRIMARY KEY CHECK (id = 1)
);
INSERT INTO write_lock (id) VALUES (1);

CREATE TRIGGER write_lock_fixed BEFORE UPDATE OR DELETE OR TRUNCATE ON write_lock
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- election is the signed definition as imported: one row, ever.
CREATE TABLE election (
	id          smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	signed      bytea NOT NULL,
	key_id      text NOT NULL,
	imported_at timestamptz NOT NULL
);

CREATE TRIGGER election_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON election
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- codes are enrollment codes, by hash. A code is used once or retired
-- once; nothing else about it changes. id is the order issued.
CREATE TABLE codes (
	id         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	hash       text PRIMARY KEY,
	role       text NOT NULL,
	unit       text NOT NULL,
	issued_at  timestamptz NOT NULL,
	used_at    timestamptz,
	used_by    text,
	retired_at timestamptz,
	CHECK ((used_at IS NULL) = (used_by IS NULL)),
	CHECK (used_at IS NULL OR retired_at IS NULL) -- used or retired, not both
);

CREATE INDEX codes_by_unit ON codes (role, unit, issued_at DESC, id DESC);

CREATE FUNCTION codes_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id IS DISTINCT FROM OLD.id OR NEW.hash IS DISTINCT FROM OLD.hash
		OR NEW.role IS DISTINCT FROM OLD.role OR NEW.unit IS DISTINCT FROM OLD.unit
		OR NEW.issued_at IS DISTINCT FROM OLD.issued_at THEN
		RAISE EXCEPTION 'codes: an issued code is never changed' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF OLD.used_at IS NOT NULL AND (NEW.used_at IS DISTINCT FROM OLD.used_at OR NEW.used_by IS DISTINCT FROM OLD.used_by) THEN
		RAISE EXCEPTION 'codes: a code is used once' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at THEN
		RAISE EXCEPTION 'codes: a code is retired once' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER codes_use_once BEFORE UPDATE ON codes
FOR EACH ROW EXECUTE FUNCTION codes_change();
CREATE TRIGGER codes_kept BEFORE DELETE OR TRUNCATE ON codes
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- keys are the enrolled keys; id is the order enrolled. A key is revoked
-- once; nothing else about it changes.
CREATE TABLE keys (
	ord            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	id             text PRIMARY KEY,
	public_key     text NOT NULL,
	role           text NOT NULL,
	unit           text NOT NULL,
	enrolled_at    timestamptz NOT NULL,
	revoked_at     timestamptz,
	revoked_reason text,
	CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE FUNCTION keys_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.ord IS DISTINCT FROM OLD.ord OR NEW.id IS DISTINCT FROM OLD.id
		OR NEW.public_key IS DISTINCT FROM OLD.public_key OR NEW.role IS DISTINCT FROM OLD.role
		OR NEW.unit IS DISTINCT FROM OLD.unit OR NEW.enrolled_at IS DISTINCT FROM OLD.enrolled_at THEN
		RAISE EXCEPTION 'keys: an enrolled key is never changed' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
		OR NEW.revoked_reason IS DISTINCT FROM OLD.revoked_reason) THEN
		RAISE EXCEPTION 'keys: a key is revoked once' USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER keys_revoke_once BEFORE UPDATE ON keys
FOR EACH ROW EXECUTE FUNCTION keys_change();
CREATE TRIGGER keys_kept BEFORE DELETE OR TRUNCATE ON keys
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- submissions are the stored versions of the stations' forms: one per
-- envelope, one per version of a form. number is the receipt's running
-- number.
CREATE TABLE submissions (
	number       bigint PRIMARY KEY CHECK (number >= 1),
	digest       text NOT NULL UNIQUE,
	station      text NOT NULL,
	contest      text NOT NULL,
	form         text NOT NULL,
	municipality text NOT NULL,
	version      integer NOT NULL,
	supersedes   text,
	key_id       text NOT NULL,
	photo_sha256 text,
	envelope     bytea NOT NULL,
	sealed_at    timestamptz NOT NULL,
	received_at  timestamptz NOT NULL,
	UNIQUE (station, contest, form, version)
);

CREATE INDEX submissions_by_municipality ON submissions (municipality, station, contest, form, version);

CREATE TRIGGER submissions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON submissions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- conflicts are the submissions refused for contradicting what is
-- stored, kept for the supervisors; one per envelope.
CREATE TABLE conflicts (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	digest       text NOT NULL UNIQUE,
	station      text NOT NULL,
	contest      text NOT NULL,
	form         text NOT NULL,
	municipality text NOT NULL,
	version      integer NOT NULL,
	supersedes   text,
	key_id       text NOT NULL,
	reason       text NOT NULL,
	envelope     bytea NOT NULL,
	at           timestamptz NOT NULL
);

CREATE INDEX conflicts_by_municipality ON conflicts (municipality, station, id);

CREATE TRIGGER conflicts_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON conflicts
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- decisions are the supervisors' decisions on stored submissions; ord is
-- the order received.
CREATE TABLE decisions (
	ord          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	digest       text PRIMARY KEY,
	submission   text NOT NULL REFERENCES submissions (digest),
	station      text NOT NULL,
	contest      text NOT NULL,
	form         text NOT NULL,
	municipality text NOT NULL,
	verdict      text NOT NULL,
	reason       text,
	key_id       text NOT NULL,
	decided_at   timestamptz NOT NULL,
	received_at  timestamptz NOT NULL,
	envelope     bytea NOT NULL
);

CREATE INDEX decisions_by_municipality ON decisions (municipality, station, ord);

CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON decisions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- attachments are the photos of the paper forms, content-addressed.
CREATE TABLE attachments (
	sha256      text PRIMARY KEY,
	size        bigint NOT NULL CHECK (size = octet_length(data)),
	station     text NOT NULL,
	received_at timestamptz NOT NULL,
	data        bytea NOT NULL
);

CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON attachments
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- upload_parts are the pieces of an attachment on its way in, in the
-- order received (part 0, 1, …); each carries the whole file's size and
-- its station, as the first part gave them. They go once the whole is an
-- attachment, or is refused.
CREATE TABLE upload_parts (
	sha256  text NOT NULL,
	part    integer NOT NULL CHECK (part >= 0),
	"offset" bigint NOT NULL CHECK ("offset" >= 0),
	size    bigint NOT NULL CHECK (size >= 0),
	station text NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (sha256, part)
);

-- secrets are shared by every node (token and challenge signing); a
-- secret, once made, is never changed: a new one is a new name.
CREATE TABLE secrets (
	name       text PRIMARY KEY,
	value      bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER secrets_kept BEFORE UPDATE OR DELETE OR TRUNCATE ON secrets
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- audit is the hash chain (app/audit): at to the microsecond, as hashed;
-- details the exact JSON text that was hashed (jsonb would reorder it).
CREATE TABLE audit (
	seq     bigint PRIMARY KEY CHECK (seq >= 1),
	at      timestamptz NOT NULL,
	action  text NOT NULL,
	subject text NOT NULL,
	actor   text NOT NULL,
	details text NOT NULL CHECK (json_typeof(details::json) = 'object'),
	prev    text NOT NULL,
	hash    text NOT NULL UNIQUE CHECK (length(hash) = 64)
);

-- Each record follows the last one and links to it. Two inserts that
-- race past this check (neither holding write_lock) collide on seq.
CREATE FUNCTION audit_append() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	last_seq  bigint := 0;
	last_hash text := '0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
	SELECT seq, hash INTO last_seq, last_hash FROM audit ORDER BY seq DESC LIMIT 1;
	IF NOT FOUND THEN
		last_seq := 0;
		last_hash := '0000000000000000000000000000000000000000000000000000000000000000';
	END IF;
	IF NEW.seq IS DISTINCT FROM last_seq + 1 OR NEW.prev IS DISTINCT FROM last_hash THEN
		RAISE EXCEPTION 'audit: record % must follow record % and link to it', NEW.seq, last_seq
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER audit_append BEFORE INSERT ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
