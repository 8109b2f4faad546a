-- The commission's conflicts, and its refusals of decisions, kept apart.

-- conflicts is the municipality's list of conflicts as last fetched
-- (GET /v1/municipalities/{code}/conflicts, JSON): replaced by each fetch,
-- like the overview.
CREATE TABLE conflicts (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	body       TEXT NOT NULL CHECK (json_valid(body)),
	fetched_at TEXT NOT NULL
);

-- refusals are the commission's refusals of decisions sent to it, with its
-- reason, in the order recorded; the latest one of a decision stands.
-- Until now they were only in the audit log, which they are copied from.
CREATE TABLE refusals (
	id          INTEGER PRIMARY KEY,
	decision    TEXT NOT NULL REFERENCES decisions (digest),
	reason      TEXT NOT NULL CHECK (reason <> ''),
	recorded_at TEXT NOT NULL
);

CREATE INDEX refusals_by_decision ON refusals (decision);

CREATE TRIGGER refusals_undelivered BEFORE INSERT ON refusals
WHEN EXISTS (SELECT 1 FROM deliveries WHERE digest = NEW.decision)
BEGIN SELECT RAISE(ABORT, 'refusals: the commission has this decision; it cannot refuse it now'); END;
CREATE TRIGGER refusals_no_update BEFORE UPDATE ON refusals
BEGIN SELECT RAISE(ABORT, 'refusals: a refusal is never changed'); END;
CREATE TRIGGER refusals_no_delete BEFORE DELETE ON refusals
BEGIN SELECT RAISE(ABORT, 'refusals: a refusal is never removed'); END;

INSERT INTO refusals (decision, reason, recorded_at)
SELECT json_extract(details, '$.decision'), json_extract(details, '$.reason'), at
FROM audit WHERE action = 'decision.refused'
	AND json_extract(details, '$.decision') IN (SELECT digest FROM decisions)
	AND json_extract(details, '$.decision') NOT IN (SELECT digest FROM deliveries)
ORDER BY seq;
