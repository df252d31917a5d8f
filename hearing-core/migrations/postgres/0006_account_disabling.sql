-- Staff accounts can be disabled: a disabled account signs in no more and every session it had
-- was revoked when it was disabled. Each change is kept in account_audit (who, whom, when).
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE account_audit (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    sessions_revoked BIGINT NOT NULL
);
