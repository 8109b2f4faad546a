-- keys_revoked finds the revoked keys without reading every key: each
-- group commit of submissions asks for them.
CREATE INDEX keys_revoked ON keys (seq) WHERE revoked_at IS NOT NULL;
