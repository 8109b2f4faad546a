-- snapshots are the published results snapshots (app/publish), sealed,
-- exactly as served: numbered 1, 2, … without a gap, and a number names
-- its bytes for good. digest is the SHA-256 of sealed, in lowercase hex.
-- The primary key decides between nodes that store a number at once.
CREATE TABLE snapshots (
	number     bigint PRIMARY KEY CHECK (number >= 1),
	digest     text NOT NULL CHECK (length(digest) = 64),
	sealed     bytea NOT NULL CHECK (octet_length(sealed) > 0),
	created_at timestamptz NOT NULL
);

-- A snapshot follows the last one stored, or is a number already stored,
-- which the primary key refuses (or the store's ON CONFLICT DO NOTHING
-- ignores): numbers have no gap.
CREATE FUNCTION snapshots_append() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	last_number bigint;
BEGIN
	SELECT coalesce(max(number), 0) INTO last_number FROM snapshots;
	IF NEW.number > last_number + 1 THEN
		RAISE EXCEPTION 'snapshots: snapshot % must follow snapshot %', NEW.number, last_number
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER snapshots_append BEFORE INSERT ON snapshots
FOR EACH ROW EXECUTE FUNCTION snapshots_append();
CREATE TRIGGER snapshots_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON snapshots
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
